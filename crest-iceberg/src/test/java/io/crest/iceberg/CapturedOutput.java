package io.crest.iceberg;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * Copies everything written to {@code System.out} and {@code System.err} (where slf4j-simple
 * writes) and everything logged through {@code java.util.logging} (where {@code System.Logger}
 * goes) while it is open into a buffer, still passing the streams on. Tests use it to check what
 * the logs say. Not for parallel tests: streams and loggers are JVM-wide. Closing twice is safe.
 */
final class CapturedOutput implements AutoCloseable {
  private final PrintStream originalOut = System.out;
  private final PrintStream originalErr = System.err;
  private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
  private final Handler julHandler = new Handler() {
    private final SimpleFormatter formatter = new SimpleFormatter();

    @Override
    public void publish(LogRecord record) {
      byte[] line = formatter.format(record).getBytes(StandardCharsets.UTF_8);
      synchronized (buffer) {
        buffer.write(line, 0, line.length);
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  };
  private boolean closed;

  private CapturedOutput() {
    System.setOut(tee(originalOut));
    System.setErr(tee(originalErr));
    // The console handler kept the System.err of its creation: listen to the records instead.
    Logger.getLogger("").addHandler(julHandler);
  }

  /** Starts capturing. */
  static CapturedOutput start() {
    return new CapturedOutput();
  }

  private PrintStream tee(PrintStream original) {
    return new PrintStream(
        new OutputStream() {
          @Override
          public void write(int b) {
            synchronized (buffer) {
              buffer.write(b);
            }
            original.write(b);
          }

          @Override
          public void write(byte[] b, int off, int len) {
            synchronized (buffer) {
              buffer.write(b, off, len);
            }
            original.write(b, off, len);
          }

          @Override
          public void flush() {
            original.flush();
          }
        },
        true,
        StandardCharsets.UTF_8);
  }

  /** Everything captured so far. */
  String text() {
    System.out.flush();
    System.err.flush();
    synchronized (buffer) {
      return buffer.toString(StandardCharsets.UTF_8);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    System.out.flush();
    System.err.flush();
    Logger.getLogger("").removeHandler(julHandler);
    System.setOut(originalOut);
    System.setErr(originalErr);
  }
}
