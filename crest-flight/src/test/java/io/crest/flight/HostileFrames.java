package io.crest.flight;

import com.google.flatbuffers.FlatBufferBuilder;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apache.arrow.flatbuf.Buffer;
import org.apache.arrow.flatbuf.FieldNode;
import org.apache.arrow.flatbuf.Int;
import org.apache.arrow.flatbuf.Message;
import org.apache.arrow.flatbuf.MessageHeader;
import org.apache.arrow.flatbuf.MetadataVersion;
import org.apache.arrow.flatbuf.RecordBatch;
import org.apache.arrow.flight.impl.Flight;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.ValueVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryEncoder;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.ipc.ReadChannel;
import org.apache.arrow.vector.ipc.message.ArrowDictionaryBatch;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.MessageMetadataResult;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.util.DictionaryUtility;
import org.apache.arrow.vector.util.ValueVectorUtility;

/**
 * Hostile Flight streams for the fuzz tests: valid Arrow IPC messages of {@code (id bigint, name
 * utf8)} batches written with Arrow's own {@link ArrowStreamWriter}, then damaged one way per
 * case (bit flips, truncation, garbage frames, negative or huge declared lengths, unknown types,
 * changing or wrong schemas, missing dictionaries, streams ending mid-batch, stalls), encoded as
 * raw {@code FlightData} protobuf frames. Each case also says which ids a strict reader ({@link
 * #strictlyReadableIds}) accepts from it: only those may ever be committed. Not thread-safe; generate on one thread.
 */
final class HostileFrames {
  static final Schema SCHEMA = io.crest.testing.TestBatches.SCHEMA;
  private static final Schema OTHER_SCHEMA = new Schema(List.of(
      new Field("id", FieldType.notNullable(new ArrowType.Int(32, true)), null),
      new Field("name", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));
  private static final long DICTIONARY_ID = 7;

  /** How a case damages its stream. */
  enum Kind {
    HEADER_BIT_FLIP, BODY_BIT_FLIP, HEADER_TRUNCATED, BODY_TRUNCATED, FRAME_TRUNCATED,
    FRAME_GARBAGE, NEGATIVE_LENGTH, HUGE_DECLARED_SIZE, WRONG_SCHEMA, CHANGING_SCHEMA,
    UNKNOWN_TYPE, DICTIONARY_MISSING, ENDS_MID_BATCH, BAD_SEQUENCE, OVERSIZED_MESSAGE, STALL,
    CANCEL
  }

  /** How the sender ends a case: completes the stream, stops sending, or cancels/aborts. */
  enum End { COMPLETE, STALL, CANCEL }

  /** One case: the frames to send, how the stream ends, and the ids a strict reader accepts. */
  record Case(int index, Kind kind, String name, List<byte[]> frames, End end,
      Set<Long> allowedIds) {}

  /** One IPC message: the flatbuffer header, the body and the application metadata. */
  private static final class Msg {
    byte[] header;
    byte[] body;
    byte[] metadata;

    Msg(byte[] header, byte[] body) {
      this.header = header;
      this.body = body;
    }
  }

  private final BufferAllocator allocator;
  private final Random random;
  private final String table;

  HostileFrames(BufferAllocator allocator, long seed, String table) {
    this.allocator = allocator;
    this.random = new Random(seed);
    this.table = table;
  }

  /**
   * Makes case {@code index}, of {@code kind}, whose rows carry ids from {@code firstId}.
   *
   * @param descriptor whether the first frame carries the put's descriptor (for DoPut)
   */
  Case make(int index, Kind kind, long firstId, boolean descriptor) {
    String name = "hostile-" + index;
    End end = End.COMPLETE;
    List<Msg> msgs;
    switch (kind) {
      case WRONG_SCHEMA:
        msgs = messages(OTHER_SCHEMA, firstId, 2, 5, false);
        break;
      case CHANGING_SCHEMA: {
        msgs = messages(SCHEMA, firstId, 1, 5, false);
        msgs.addAll(messages(OTHER_SCHEMA, firstId + 100, 1, 5, false));
        break;
      }
      case DICTIONARY_MISSING: {
        msgs = messages(SCHEMA, firstId, 2, 5, true);
        msgs.remove(1); // the dictionary batch right after the schema
        break;
      }
      case OVERSIZED_MESSAGE:
        msgs = messages(SCHEMA, firstId, 1, 40_000, false);
        break;
      default:
        msgs = messages(SCHEMA, firstId, 2, 5, false);
    }
    int batches = (int) msgs.stream().filter(m -> m.body.length > 0).count();
    int lastBatch = msgs.size() - 1;
    int target = batches == 0 ? 0 : 1 + random.nextInt(msgs.size() - 1);
    switch (kind) {
      case HEADER_BIT_FLIP:
        flip(msgs.get(random.nextInt(msgs.size())).header);
        break;
      case BODY_BIT_FLIP:
        flip(msgs.get(target).body);
        break;
      case HEADER_TRUNCATED: {
        Msg m = msgs.get(random.nextInt(msgs.size()));
        m.header = Arrays.copyOf(m.header, random.nextInt(m.header.length));
        break;
      }
      case BODY_TRUNCATED: {
        Msg m = msgs.get(target);
        m.body = Arrays.copyOf(m.body, random.nextInt(Math.max(1, m.body.length)));
        break;
      }
      case NEGATIVE_LENGTH:
        msgs.get(target).header = batchHeader(msgs.get(target).body.length, true);
        break;
      case HUGE_DECLARED_SIZE:
        msgs.get(target).header = batchHeader(msgs.get(target).body.length, false);
        break;
      case UNKNOWN_TYPE:
        msgs.get(0).header = unknownTypeSchema();
        break;
      case ENDS_MID_BATCH: {
        Msg m = msgs.get(lastBatch);
        m.body = Arrays.copyOf(m.body, m.body.length / 2);
        break;
      }
      case BAD_SEQUENCE:
        msgs.get(1).metadata = utf8(random.nextBoolean() ? "-" + random.nextInt(9) : "x1");
        break;
      case STALL:
        end = End.STALL;
        msgs = msgs.subList(0, 1 + random.nextInt(2));
        break;
      case CANCEL:
        end = End.CANCEL;
        msgs = msgs.subList(0, 2);
        break;
      default:
        break;
    }
    List<byte[]> frames = new ArrayList<>();
    for (int i = 0; i < msgs.size(); i++) {
      frames.add(frame(msgs.get(i), descriptor && i == 0 ? name : null));
    }
    if (kind == Kind.FRAME_TRUNCATED) {
      int k = random.nextInt(frames.size());
      frames.set(k, Arrays.copyOf(frames.get(k), random.nextInt(frames.get(k).length)));
    } else if (kind == Kind.FRAME_GARBAGE) {
      byte[] garbage = new byte[1 + random.nextInt(200)];
      random.nextBytes(garbage);
      frames.set(random.nextInt(frames.size()), garbage);
    }
    return new Case(index, kind, name, frames, end, strictlyReadableIds(frames));
  }

  /** A valid stream of {@code batches} batches: no damage. */
  List<byte[]> valid(String producer, long firstId, int batches, int rows) {
    List<byte[]> frames = new ArrayList<>();
    List<Msg> msgs = messages(SCHEMA, firstId, batches, rows, false);
    for (int i = 0; i < msgs.size(); i++) {
      frames.add(frame(msgs.get(i), i == 0 ? producer : null));
    }
    return frames;
  }

  private void flip(byte[] bytes) {
    if (bytes.length == 0) {
      return;
    }
    int flips = 1 + random.nextInt(3);
    for (int i = 0; i < flips; i++) {
      bytes[random.nextInt(bytes.length)] ^= (byte) (1 << random.nextInt(8));
    }
  }

  /**
   * The messages of a stream written by {@link ArrowStreamWriter}: the schema, a dictionary batch
   * if {@code dictionary}, then {@code batches} batches of {@code rows} rows with ids from {@code
   * firstId}, each with its sequence number (from 1) as metadata.
   */
  private List<Msg> messages(Schema schema, long firstId, int batches, int rows,
      boolean dictionary) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Schema written = schema;
    DictionaryProvider.MapDictionaryProvider provider = new DictionaryProvider.MapDictionaryProvider();
    VarCharVector values = null;
    if (dictionary) {
      values = new VarCharVector("names", allocator);
      values.allocateNew();
      for (int i = 0; i < 4; i++) {
        values.setSafe(i, utf8("name-" + i));
      }
      values.setValueCount(4);
      provider.put(new Dictionary(values, new DictionaryEncoding(DICTIONARY_ID, false,
          new ArrowType.Int(32, true))));
      written = new Schema(List.of(schema.getFields().get(0), new Field("name",
          new FieldType(true, new ArrowType.Int(32, true),
              new DictionaryEncoding(DICTIONARY_ID, false, new ArrowType.Int(32, true))),
          null)));
    }
    try (VectorSchemaRoot root = VectorSchemaRoot.create(written, allocator);
        ArrowStreamWriter writer = new ArrowStreamWriter(root, provider,
            Channels.newChannel(out))) {
      writer.start();
      for (int b = 0; b < batches; b++) {
        root.allocateNew();
        FieldVector id = root.getVector(0);
        FieldVector name = root.getVector(1);
        for (int r = 0; r < rows; r++) {
          long value = firstId + (long) b * rows + r;
          if (id instanceof BigIntVector) {
            ((BigIntVector) id).setSafe(r, value);
          } else {
            ((IntVector) id).setSafe(r, (int) value);
          }
          if (name instanceof VarCharVector) {
            ((VarCharVector) name).setSafe(r, utf8("name-" + value));
          } else {
            ((IntVector) name).setSafe(r, (int) (value % 4));
          }
        }
        root.setRowCount(rows);
        writer.writeBatch();
      }
      writer.end();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } finally {
      if (values != null) {
        values.close();
      }
    }
    List<Msg> msgs = new ArrayList<>();
    try (ReadChannel in = new ReadChannel(Channels.newChannel(
        new ByteArrayInputStream(out.toByteArray())))) {
      MessageMetadataResult result;
      long sequence = 0;
      while ((result = MessageSerializer.readMessage(in)) != null) {
        ByteBuffer header = result.getMessageBuffer();
        byte[] headerBytes = new byte[header.remaining()];
        header.get(headerBytes);
        byte[] body = new byte[(int) result.getMessageBodyLength()];
        ByteBuffer target = ByteBuffer.wrap(body);
        while (target.hasRemaining() && in.readFully(target) > 0) {
          // read the whole body
        }
        Msg msg = new Msg(headerBytes, body);
        if (result.getMessage().headerType() == MessageHeader.RecordBatch) {
          msg.metadata = utf8(Long.toString(++sequence));
        }
        msgs.add(msg);
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return msgs;
  }

  /**
   * A record batch header for the test schema (2 nodes, 5 buffers) declaring a negative length
   * somewhere, or huge sizes (row count, buffer length or body length).
   */
  private byte[] batchHeader(int bodyLength, boolean negative) {
    long bad = negative ? -1 - random.nextInt(1_000) : (1L << (31 + random.nextInt(30)));
    int where = random.nextInt(4);
    FlatBufferBuilder b = new FlatBufferBuilder();
    long rows = where == 0 ? bad : 5;
    RecordBatch.startNodesVector(b, 2);
    for (int i = 0; i < 2; i++) {
      FieldNode.createFieldNode(b, where == 1 ? bad : 5, 0);
    }
    int nodes = b.endVector();
    RecordBatch.startBuffersVector(b, 5);
    for (int i = 4; i >= 0; i--) {
      Buffer.createBuffer(b, i * 8L, where == 2 && i == 2 ? bad : 8);
    }
    int buffers = b.endVector();
    RecordBatch.startRecordBatch(b);
    RecordBatch.addLength(b, rows);
    RecordBatch.addNodes(b, nodes);
    RecordBatch.addBuffers(b, buffers);
    int batch = RecordBatch.endRecordBatch(b);
    Message.startMessage(b);
    Message.addVersion(b, MetadataVersion.V5);
    Message.addHeaderType(b, MessageHeader.RecordBatch);
    Message.addHeader(b, batch);
    Message.addBodyLength(b, where == 3 ? bad : bodyLength);
    b.finish(Message.endMessage(b));
    return b.sizedByteArray();
  }

  /** A schema message whose field has type number 99, which no Arrow version defines. */
  private static byte[] unknownTypeSchema() {
    FlatBufferBuilder b = new FlatBufferBuilder();
    int name = b.createString("id");
    int type = Int.createInt(b, 64, true);
    int children = org.apache.arrow.flatbuf.Field.createChildrenVector(b, new int[0]);
    org.apache.arrow.flatbuf.Field.startField(b);
    org.apache.arrow.flatbuf.Field.addName(b, name);
    org.apache.arrow.flatbuf.Field.addNullable(b, true);
    org.apache.arrow.flatbuf.Field.addTypeType(b, (byte) 99);
    org.apache.arrow.flatbuf.Field.addType(b, type);
    org.apache.arrow.flatbuf.Field.addChildren(b, children);
    int field = org.apache.arrow.flatbuf.Field.endField(b);
    int fields = org.apache.arrow.flatbuf.Schema.createFieldsVector(b, new int[] {field});
    org.apache.arrow.flatbuf.Schema.startSchema(b);
    org.apache.arrow.flatbuf.Schema.addFields(b, fields);
    int schema = org.apache.arrow.flatbuf.Schema.endSchema(b);
    Message.startMessage(b);
    Message.addVersion(b, MetadataVersion.V5);
    Message.addHeaderType(b, MessageHeader.Schema);
    Message.addHeader(b, schema);
    Message.addBodyLength(b, 0);
    b.finish(Message.endMessage(b));
    return b.sizedByteArray();
  }

  private byte[] frame(Msg msg, String producer) {
    Flight.FlightData.Builder data = Flight.FlightData.newBuilder()
        .setDataHeader(ByteString.copyFrom(msg.header));
    if (producer != null) {
      data.setFlightDescriptor(Flight.FlightDescriptor.newBuilder()
          .setType(Flight.FlightDescriptor.DescriptorType.PATH)
          .addPath(table).addPath(producer));
    }
    if (msg.body.length > 0) {
      data.setDataBody(ByteString.copyFrom(msg.body));
    }
    if (msg.metadata != null) {
      data.setAppMetadata(ByteString.copyFrom(msg.metadata));
    }
    return data.build().toByteArray();
  }

  /**
   * The ids of the batches a strict reader accepts from {@code frames}, in order, up to the first
   * message it cannot decode or batch it cannot validate. It frames like Flight (a frame's body is
   * its {@code data_body}; a frame protobuf cannot parse carries nothing), but then decodes with
   * Arrow's own {@link MessageSerializer}, allows exactly one schema, validates every vector fully
   * and decodes every dictionary-encoded one.
   */
  Set<Long> strictlyReadableIds(List<byte[]> frames) {
    Set<Long> ids = new HashSet<>();
    // An allocator of its own: Arrow may leak on malformed input, which is not what is tested.
    BufferAllocator strict = new org.apache.arrow.memory.RootAllocator(64 << 20);
    Map<Long, Dictionary> dictionaries = new HashMap<>();
    VectorSchemaRoot root = null;
    try {
      for (byte[] frame : frames) {
        Flight.FlightData data;
        try {
          data = Flight.FlightData.parseFrom(frame);
        } catch (InvalidProtocolBufferException e) {
          continue; // carries nothing a strict reader would take
        }
        byte[] header = data.getDataHeader().toByteArray();
        if (header.length == 0) {
          continue;
        }
        Message message = Message.getRootAsMessage(ByteBuffer.wrap(header));
        byte[] bodyBytes = data.getDataBody().toByteArray();
        if (message.headerType() == MessageHeader.Schema) {
          if (root != null) {
            break; // one schema per stream
          }
          Schema schema = MessageSerializer.deserializeSchema(message);
          List<Field> fields = new ArrayList<>();
          for (Field field : schema.getFields()) {
            fields.add(DictionaryUtility.toMemoryFormat(field, strict, dictionaries));
          }
          root = VectorSchemaRoot.create(new Schema(fields), strict);
        } else if (message.headerType() == MessageHeader.DictionaryBatch && root != null) {
          try (ArrowBuf body = body(strict, bodyBytes);
              ArrowDictionaryBatch batch = MessageSerializer.deserializeDictionaryBatch(message,
                  retained(body))) {
            Dictionary dictionary = dictionaries.get(batch.getDictionaryId());
            if (dictionary == null) {
              break;
            }
            FieldVector vector = dictionary.getVector();
            new VectorLoader(new VectorSchemaRoot(List.of(vector.getField()), List.of(vector), 0))
                .load(batch.getDictionary());
            ValueVectorUtility.validateFull(vector);
          }
        } else if (message.headerType() == MessageHeader.RecordBatch && root != null) {
          RecordBatch header1 = (RecordBatch) message.header(new RecordBatch());
          try (ArrowBuf body = body(strict, bodyBytes);
              ArrowRecordBatch batch = MessageSerializer.deserializeRecordBatch(header1,
                  retained(body))) {
            new VectorLoader(root).load(batch);
          }
          List<Long> batchIds = new ArrayList<>();
          for (FieldVector vector : root.getFieldVectors()) {
            ValueVectorUtility.validateFull(vector);
            DictionaryEncoding encoding = vector.getField().getDictionary();
            if (encoding != null) {
              Dictionary dictionary = dictionaries.get(encoding.getId());
              try (ValueVector decoded = DictionaryEncoder.decode(vector, dictionary)) {
                ValueVectorUtility.validateFull(decoded);
              }
            }
          }
          FieldVector id = root.getVector("id");
          for (int r = 0; id != null && r < root.getRowCount(); r++) {
            Object value = id.getObject(r);
            batchIds.add(value == null ? null : ((Number) value).longValue());
          }
          ids.addAll(batchIds);
        } else {
          break;
        }
      }
    } catch (Throwable e) {
      // The strict reader stops here: nothing after this point may be committed.
      if (Boolean.getBoolean("crest.fuzz.debug")) {
        e.printStackTrace();
      }
    }
    try {
      if (root != null) {
        root.close();
      }
      dictionaries.values().forEach(d -> d.getVector().close());
      strict.close();
    } catch (RuntimeException e) {
      // what Arrow leaked on malformed input; not what the fuzz tests check
    }
    return ids;
  }

  /** As Flight does: the batch's buffers are slices of the body that outlive this method. */
  private static ArrowBuf retained(ArrowBuf body) {
    body.getReferenceManager().retain();
    return body;
  }

  private static ArrowBuf body(BufferAllocator allocator, byte[] bytes) {
    ArrowBuf body = allocator.buffer(bytes.length);
    body.setBytes(0, bytes);
    body.writerIndex(bytes.length);
    return body;
  }

  static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
