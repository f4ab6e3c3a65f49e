package io.crest.samples;

import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * Serves the demo's growing {@code orders_mv} view ({@link OrdersServer}) on {@code 127.0.0.1}
 * until the process is stopped, for trying crest-ingestor with its {@code orders.yaml}
 * ({@code mvn -q -pl samples -am verify -Pdemo-server -DskipTests}).
 *
 * <p>Arguments: {@code [port] [total-rows] [rows-per-second]}, by default 47470, 10,000,000 and
 * 100,000.
 */
public final class DemoFlightServer {
  private DemoFlightServer() {}

  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 47470;
    long rows = args.length > 1 ? Long.parseLong(args[1]) : 10_000_000L;
    long rate = args.length > 2 ? Long.parseLong(args[2]) : 100_000L;
    CountDownLatch stopped = new CountDownLatch(1);
    BufferAllocator root = new RootAllocator();
    OrdersServer server = new OrdersServer(root, port, rows, rate, 10_000);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        server.close();
        root.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        stopped.countDown();
      }
    }, "demo-flight-server-shutdown"));
    System.out.printf(Locale.ROOT, "Flight server %s serves '%s' (%,d orders, %,d/s); stop with"
        + " Ctrl-C%n", server.uri(), OrdersServer.VIEW, rows, rate);
    stopped.await();
  }
}
