package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.testing.MemorySink;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.auth2.BearerCredentialWriter;
import org.apache.arrow.flight.grpc.CredentialCallOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Planted secrets (a password and bearer tokens) never show in what Crest prints, logs, throws
 * or describes: builders' and servers' {@code toString}, the statuses producers receive for wrong
 * credentials and unauthorized tables, a {@link FlightSource}'s failure with wrong credentials,
 * and everything written to standard output and error (where slf4j-simple logs) meanwhile.
 */
@Timeout(120)
class SecretsNotLeakedTest extends FlightTestSupport {
  private static final String TABLE = "shop.orders";
  private static final String OTHER = "shop.refunds";
  private static final String PASSWORD = "s3cret-PASSWORD-planted-4711";
  private static final String TOKEN = "s3cret-TOKEN-planted-0815";
  private static final String LIMITED_TOKEN = "s3cret-LIMITED-planted-1234";

  @Test
  void plantedSecrets_appearInNoLogExceptionOrDescription() throws Exception {
    List<String> seen = new ArrayList<>();
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream err = System.err;
    PrintStream out = System.out;
    System.setErr(new PrintStream(tee(err, captured), true, StandardCharsets.UTF_8));
    System.setOut(new PrintStream(tee(out, captured), true, StandardCharsets.UTF_8));
    try {
      exerciseFailures(seen);
    } finally {
      System.setErr(err);
      System.setOut(out);
    }
    String logs;
    synchronized (captured) {
      logs = captured.toString(StandardCharsets.UTF_8);
    }

    assertThat(seen).hasSizeGreaterThanOrEqualTo(8);
    assertThat(logs).contains("Flight ingest server listening at"); // the capture works
    for (String secret : List.of(PASSWORD, TOKEN, LIMITED_TOKEN)) {
      assertThat(logs).doesNotContain(secret);
      assertThat(seen).allSatisfy(text -> assertThat(text).doesNotContain(secret));
    }
  }

  private void exerciseFailures(List<String> seen) throws Exception {
    FlightIngestServer.Builder builder = FlightIngestServer.builder(allocator, "grpc://0.0.0.0:0")
        .table(TABLE).table(OTHER)
        .user("producer", PASSWORD)
        .bearerToken(TOKEN)
        .bearerToken(LIMITED_TOKEN, Set.of(OTHER));
    seen.add(builder.toString());
    FlightIngestServer server = register(builder.build());
    seen.add(server.toString());
    seen.add(describe(() -> FlightIngestServer.builder(allocator, "grpc://0.0.0.0:0")
        .table(TABLE).bearerToken(TOKEN).allowUnauthenticated().build()));
    seen.add(describe(() -> builder.bearerToken(TOKEN)));
    seen.add(describe(() -> builder.user("producer", PASSWORD)));

    MemorySink sink = new MemorySink();
    Pipeline pipeline = Pipeline.from(server.source(TABLE)).id("secrets")
        .batch(BatchPolicy.rows(1)).to(sink);
    register(pipeline::stop);
    pipeline.start();
    FlightClient client = register(FlightClient.builder(allocator,
        Location.forGrpcInsecure("127.0.0.1", server.port())).build());

    // Wrong password, wrong token, a token limited to another table.
    seen.add(describe(() -> client.authenticateBasicToken("producer", "not-" + PASSWORD)));
    seen.add(describe(() -> client.authenticateBasicToken("nobody", PASSWORD)));
    seen.add(putFailure(client, bearer(TOKEN + "-wrong")));
    seen.add(putFailure(client, bearer(LIMITED_TOKEN)));
    // A put that succeeds, with the right token: logged, and nothing secret in the log.
    TestProducer.start(client, allocator, TABLE, "p1", 0, 1, 1, 1, bearer(TOKEN))
        .done.get(30, TimeUnit.SECONDS);

    // A FlightSource with wrong credentials: its failure and its description.
    FlightSource.Builder reader = FlightSource.builder(allocator)
        .endpoint(server.uri().replace("0.0.0.0", "127.0.0.1"), "orders")
        .basicAuth("producer", "not-" + PASSWORD).maxReconnectAttempts(0);
    seen.add(reader.toString());
    FlightSource source = source(reader);
    seen.add(source.toString());
    CollectingSourceContext context = CollectingSourceContext.create();
    source.start(context);
    waitAtMost().until(() -> !context.failures().isEmpty());
    seen.add(String.valueOf(context.failures().get(0)));
    FlightSource.Builder tokenReader = FlightSource.builder(allocator)
        .endpoint(server.uri().replace("0.0.0.0", "127.0.0.1"), "orders")
        .bearerToken(TOKEN + "-wrong").maxReconnectAttempts(0);
    seen.add(tokenReader.toString());
    FlightSource tokenSource = source(tokenReader);
    CollectingSourceContext tokenContext = CollectingSourceContext.create();
    tokenSource.start(tokenContext);
    waitAtMost().until(() -> !tokenContext.failures().isEmpty());
    seen.add(String.valueOf(tokenContext.failures().get(0)));
  }

  private String putFailure(FlightClient client, CallOption credentials) throws Exception {
    TestProducer.Put put = TestProducer.start(client, allocator, TABLE, "p2", 100, 1, 1, 1,
        credentials);
    assertThatThrownBy(() -> put.done.get(30, TimeUnit.SECONDS)).isNotNull();
    try {
      put.done.get(1, TimeUnit.SECONDS);
      return "";
    } catch (Exception e) {
      return e + " / " + e.getCause();
    }
  }

  private static CallOption bearer(String token) {
    return new CredentialCallOption(new BearerCredentialWriter(token));
  }

  /** The exception {@code action} throws, as text with its causes. */
  private static String describe(ThrowingRunnable action) {
    try {
      action.run();
      return "";
    } catch (Exception e) {
      StringBuilder text = new StringBuilder();
      for (Throwable t = e; t != null; t = t.getCause()) {
        text.append(t).append(" | ");
      }
      return text.toString();
    }
  }

  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  private static OutputStream tee(PrintStream original, ByteArrayOutputStream copy) {
    return new OutputStream() {
      @Override
      public void write(int b) {
        original.write(b);
        synchronized (copy) {
          copy.write(b);
        }
      }

      @Override
      public void write(byte[] bytes, int offset, int length) {
        original.write(bytes, offset, length);
        synchronized (copy) {
          copy.write(bytes, offset, length);
        }
      }
    };
  }
}
