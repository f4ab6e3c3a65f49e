package io.crest.writer;

import io.crest.spi.FileWriter;

class ArrowIpcFileWriterContractTest extends FileWriterContractTest {
  @Override
  FileWriter newWriter() {
    return FileWriters.arrowIpc(SCHEMA, files, allocator).build();
  }

  @Override
  String format() {
    return "arrow";
  }
}
