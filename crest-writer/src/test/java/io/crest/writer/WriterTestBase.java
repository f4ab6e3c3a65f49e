package io.crest.writer;

import java.nio.file.Path;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A fresh leak-checked allocator and a directory of output files for each test. */
abstract class WriterTestBase {
  @TempDir Path dir;
  BufferAllocator allocator;
  TestFiles files;

  @BeforeEach
  void setUp() {
    allocator = new RootAllocator();
    files = new TestFiles(dir);
  }

  @AfterEach
  void tearDown() {
    allocator.close(); // fails the test on a leak
  }
}
