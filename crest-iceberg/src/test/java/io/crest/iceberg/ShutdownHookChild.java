package io.crest.iceberg;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.testing.GeneratedSource;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * What an embedding application does: runs a pipeline and stops it from a JVM shutdown hook, so
 * SIGTERM drains and commits. Used by {@link ShutdownHookStopTest} in a child JVM. Argument: the
 * warehouse directory.
 */
public final class ShutdownHookChild {
  private ShutdownHookChild() {}

  public static void main(String[] args) throws Exception {
    BufferAllocator root = new RootAllocator();
    GeneratedSource source = new GeneratedSource(root, 500).stream("s", 0, 1_000_000).continuous();
    Pipeline p = Pipeline.from(source).id("hooked")
        .batch(BatchPolicy.rows(10_000_000)) // nothing commits until the stop
        .to(IcebergSink.builder().localWarehouse(Path.of(args[0])).table("app.events").build());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      p.stop();
      System.out.println("STOPPED rowsCommitted=" + p.stats().rowsCommitted());
      System.out.flush();
      stopped.countDown();
    }));
    p.start();
    while (p.stats().rowsIn() < 20_000) {
      Thread.onSpinWait();
    }
    System.out.println("READY");
    System.out.flush();
    stopped.await(); // until SIGTERM
  }
}
