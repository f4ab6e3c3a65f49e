package io.crest.flight;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.flight.impl.Flight;

/**
 * Flight at the gRPC level, for sending and serving bytes that no Flight library would produce:
 * a raw {@code DoPut} client that sends {@code FlightData} frames as given, and a misbehaving
 * {@code DoGet} server that answers each ticket with the frames registered for it, then
 * completes, stalls or aborts. Loopback only.
 */
final class RawFlight {
  private static final String SERVICE = "arrow.flight.protocol.FlightService";

  /** Passes bytes through unchanged. */
  private static final MethodDescriptor.Marshaller<byte[]> BYTES =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw Status.INTERNAL.withCause(e).asRuntimeException();
          }
        }
      };

  static final MethodDescriptor<byte[], byte[]> DO_PUT =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "DoPut"))
          .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();

  static final MethodDescriptor<byte[], byte[]> DO_GET =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "DoGet"))
          .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();

  private RawFlight() {}

  static ManagedChannel channel(int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
        .maxInboundMessageSize(16 << 20).build();
  }

  /** The end of one raw put: its status and how many acknowledgements it received. */
  record PutOutcome(Status status, int acks) {}

  /**
   * Sends {@code frames} as one {@code DoPut}, then ends it as {@code end} says, and waits for
   * the server to close the call.
   */
  static PutOutcome put(ManagedChannel channel, List<byte[]> frames, HostileFrames.End end,
      long timeoutSeconds) throws Exception {
    ClientCall<byte[], byte[]> call = channel.newCall(DO_PUT,
        CallOptions.DEFAULT.withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS));
    CompletableFuture<Status> closed = new CompletableFuture<>();
    AtomicInteger acks = new AtomicInteger();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(byte[] message) {
        acks.incrementAndGet();
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.request(Integer.MAX_VALUE);
    for (byte[] frame : frames) {
      call.sendMessage(frame);
    }
    if (end == HostileFrames.End.COMPLETE) {
      call.halfClose();
    } else if (end == HostileFrames.End.CANCEL) {
      call.cancel("the fuzz test cancels the put", null);
    }
    return new PutOutcome(closed.get(timeoutSeconds + 5, TimeUnit.SECONDS), acks.get());
  }

  /** A DoGet server answering each registered ticket with its frames. Close it after use. */
  static final class MisbehavingServer implements AutoCloseable {
    private record Answer(List<byte[]> frames, HostileFrames.End end, long pauseMillis) {}

    private final Map<String, Answer> answers = new ConcurrentHashMap<>();
    private final Server server;

    MisbehavingServer() throws IOException {
      ServerServiceDefinition service = ServerServiceDefinition.builder(SERVICE)
          .addMethod(DO_GET, ServerCalls.asyncServerStreamingCall((request, observer) -> {
            String ticket;
            try {
              ticket = Flight.Ticket.parseFrom(request).getTicket().toStringUtf8();
            } catch (IOException e) {
              observer.onError(Status.INVALID_ARGUMENT.asRuntimeException());
              return;
            }
            Answer answer = answers.get(ticket);
            if (answer == null) {
              observer.onError(Status.NOT_FOUND.withDescription(ticket).asRuntimeException());
              return;
            }
            ServerCallStreamObserver<byte[]> call = (ServerCallStreamObserver<byte[]>) observer;
            call.setOnCancelHandler(() -> { });
            try {
              for (byte[] frame : answer.frames) {
                if (call.isCancelled()) {
                  return;
                }
                call.onNext(frame);
                if (answer.pauseMillis > 0) {
                  Thread.sleep(answer.pauseMillis);
                }
              }
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              return;
            }
            if (answer.end == HostileFrames.End.COMPLETE) {
              call.onCompleted();
            } else if (answer.end == HostileFrames.End.CANCEL) {
              call.onError(Status.INTERNAL.withDescription("the misbehaving server aborts")
                  .asRuntimeException());
            } // STALL: never ends; the client's cancel or the server's close ends it
          }))
          .build();
      server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
          .addService(service).build().start();
    }

    void answer(String ticket, List<byte[]> frames, HostileFrames.End end, long pauseMillis) {
      answers.put(ticket, new Answer(frames, end, pauseMillis));
    }

    String uri() {
      return "grpc://127.0.0.1:" + server.getPort();
    }

    @Override
    public void close() throws InterruptedException {
      server.shutdownNow();
      server.awaitTermination(10, TimeUnit.SECONDS);
    }
  }
}
