package io.crest.writer;

import io.crest.spi.FileWriter;

class ParquetFileWriterContractTest extends FileWriterContractTest {
  @Override
  FileWriter newWriter() {
    return FileWriters.parquet(SCHEMA, files).codec(ParquetCodec.SNAPPY).build();
  }

  @Override
  String format() {
    return "parquet";
  }
}
