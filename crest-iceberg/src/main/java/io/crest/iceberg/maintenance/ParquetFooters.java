package io.crest.iceberg.maintenance;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.apache.iceberg.io.InputFile;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.DelegatingSeekableInputStream;
import org.apache.parquet.io.SeekableInputStream;
import org.apache.parquet.schema.Type;

/**
 * Reads what a data file's Parquet footer says, through Iceberg's {@link InputFile} (any {@code
 * FileIO}) and without a Hadoop {@code Configuration}: parquet-java's default read options make a
 * new one per file opened, which parses Hadoop's XML defaults again (most of the cost of opening
 * a small file). Stateless.
 */
final class ParquetFooters {
  private ParquetFooters() {}

  /** The field ids of the file's top-level columns (columns without an id left out). */
  static Set<Integer> topLevelFieldIds(InputFile file) throws IOException {
    ParquetReadOptions options =
        ParquetReadOptions.builder(new PlainParquetConfiguration()).build();
    Set<Integer> ids = new HashSet<>();
    try (ParquetFileReader reader = ParquetFileReader.open(parquetFile(file), options)) {
      for (Type column : reader.getFooter().getFileMetaData().getSchema().getFields()) {
        if (column.getId() != null) {
          ids.add(column.getId().intValue());
        }
      }
    }
    return ids;
  }

  private static org.apache.parquet.io.InputFile parquetFile(InputFile file) {
    return new org.apache.parquet.io.InputFile() {
      @Override
      public long getLength() {
        return file.getLength();
      }

      @Override
      public SeekableInputStream newStream() {
        org.apache.iceberg.io.SeekableInputStream in = file.newStream();
        return new DelegatingSeekableInputStream(in) {
          @Override
          public long getPos() throws IOException {
            return in.getPos();
          }

          @Override
          public void seek(long newPos) throws IOException {
            in.seek(newPos);
          }
        };
      }
    };
  }
}
