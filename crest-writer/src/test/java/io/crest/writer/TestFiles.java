package io.crest.writer;

import io.crest.spi.FileOutput;
import io.crest.spi.FileOutputFactory;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

/** Local files for writers under test, and a parquet-java reader of what they wrote. */
final class TestFiles implements FileOutputFactory {
  private final Path dir;
  private final List<Path> created = new ArrayList<>();

  TestFiles(Path dir) {
    this.dir = dir;
  }

  List<Path> created() {
    return created;
  }

  @Override
  public FileOutput newOutput() {
    Path path = dir.resolve(String.format("part-%05d.out", created.size()));
    created.add(path);
    return new FileOutput() {
      @Override
      public String location() {
        return path.toString();
      }

      @Override
      public OutputStream create() {
        try {
          return Files.newOutputStream(path);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    };
  }

  static ParquetMetadata footer(Path file) throws IOException {
    try (ParquetFileReader reader =
        ParquetFileReader.open(new LocalInputFile(file), ParquetReadOptions.builder().build())) {
      return reader.getFooter();
    }
  }

  /** Every row of {@code file} read by parquet-java, as lists of plain Java values. */
  static List<List<Object>> readRows(Path file) throws IOException {
    List<List<Object>> rows = new ArrayList<>();
    try (ParquetFileReader reader =
        ParquetFileReader.open(new LocalInputFile(file), ParquetReadOptions.builder().build())) {
      MessageType schema = reader.getFooter().getFileMetaData().getSchema();
      MessageColumnIO io = new ColumnIOFactory().getColumnIO(schema);
      PageReadStore pages;
      while ((pages = reader.readNextRowGroup()) != null) {
        RecordReader<Group> records =
            io.getRecordReader(pages, new GroupRecordConverter(schema));
        for (long r = 0; r < pages.getRowCount(); r++) {
          Group g = records.read();
          List<Object> row = new ArrayList<>();
          for (int f = 0; f < schema.getFieldCount(); f++) {
            row.add(field(g, f, schema.getType(f)));
          }
          rows.add(row);
        }
      }
    }
    return rows;
  }

  private static Object field(Group g, int f, Type type) {
    if (g.getFieldRepetitionCount(f) == 0) {
      return null;
    }
    if (type.isPrimitive()) {
      return primitive(g, f, type.asPrimitiveType());
    }
    Group child = g.getGroup(f, 0);
    GroupType gt = type.asGroupType();
    LogicalTypeAnnotation a = gt.getLogicalTypeAnnotation();
    if (a instanceof LogicalTypeAnnotation.ListLogicalTypeAnnotation) {
      List<Object> list = new ArrayList<>();
      Type element = gt.getType(0).asGroupType().getType(0);
      for (int i = 0; i < child.getFieldRepetitionCount(0); i++) {
        list.add(field(child.getGroup(0, i), 0, element));
      }
      return list;
    }
    if (a instanceof LogicalTypeAnnotation.MapLogicalTypeAnnotation) {
      Map<Object, Object> map = new LinkedHashMap<>();
      GroupType kv = gt.getType(0).asGroupType();
      for (int i = 0; i < child.getFieldRepetitionCount(0); i++) {
        Group entry = child.getGroup(0, i);
        map.put(field(entry, 0, kv.getType(0)), field(entry, 1, kv.getType(1)));
      }
      return map;
    }
    Map<String, Object> struct = new LinkedHashMap<>();
    for (int i = 0; i < gt.getFieldCount(); i++) {
      struct.put(gt.getFieldName(i), field(child, i, gt.getType(i)));
    }
    return struct;
  }

  private static Object primitive(Group g, int f, PrimitiveType type) {
    LogicalTypeAnnotation a = type.getLogicalTypeAnnotation();
    switch (type.getPrimitiveTypeName()) {
      case BOOLEAN:
        return g.getBoolean(f, 0);
      case INT32:
        if (a instanceof LogicalTypeAnnotation.DecimalLogicalTypeAnnotation) {
          return BigDecimal.valueOf(g.getInteger(f, 0),
              ((LogicalTypeAnnotation.DecimalLogicalTypeAnnotation) a).getScale());
        }
        return g.getInteger(f, 0);
      case INT64:
        if (a instanceof LogicalTypeAnnotation.DecimalLogicalTypeAnnotation) {
          return BigDecimal.valueOf(g.getLong(f, 0),
              ((LogicalTypeAnnotation.DecimalLogicalTypeAnnotation) a).getScale());
        }
        return g.getLong(f, 0);
      case FLOAT:
        return g.getFloat(f, 0);
      case DOUBLE:
        return g.getDouble(f, 0);
      default:
        byte[] bytes = g.getBinary(f, 0).getBytes();
        if (a instanceof LogicalTypeAnnotation.StringLogicalTypeAnnotation) {
          return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
        }
        if (a instanceof LogicalTypeAnnotation.DecimalLogicalTypeAnnotation) {
          return new BigDecimal(new BigInteger(bytes),
              ((LogicalTypeAnnotation.DecimalLogicalTypeAnnotation) a).getScale());
        }
        if (a instanceof LogicalTypeAnnotation.UUIDLogicalTypeAnnotation) {
          java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes);
          return new UUID(b.getLong(), b.getLong());
        }
        return HexFormat.of().formatHex(bytes);
    }
  }
}
