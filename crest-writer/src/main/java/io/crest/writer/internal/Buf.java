package io.crest.writer.internal;

import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/** A growable heap byte buffer, reused between pages and row groups. Not thread-safe. */
final class Buf extends OutputStream {
  static final VarHandle INT_LE =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  static final VarHandle LONG_LE =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  byte[] data;
  int size;

  Buf(int capacity) {
    data = new byte[Math.max(16, capacity)];
  }

  void reset() {
    size = 0;
  }

  /** Makes room for {@code n} more bytes. */
  void ensure(int n) {
    long need = (long) size + n;
    if (need > data.length) {
      if (need > Integer.MAX_VALUE - 16) {
        throw new IllegalStateException(
            "Cannot grow a Parquet buffer beyond 2 GiB (lower write.parquet.page-size-bytes or"
                + " write.parquet.row-group-size-bytes)");
      }
      data = Arrays.copyOf(data, (int) Math.max(need, Math.min(Integer.MAX_VALUE - 16L,
          data.length * 2L)));
    }
  }

  @Override
  public void write(int b) {
    ensure(1);
    data[size++] = (byte) b;
  }

  @Override
  public void write(byte[] b, int off, int len) {
    ensure(len);
    System.arraycopy(b, off, data, size, len);
    size += len;
  }

  void putIntLe(int v) {
    ensure(4);
    INT_LE.set(data, size, v);
    size += 4;
  }

  void putLongLe(long v) {
    ensure(8);
    LONG_LE.set(data, size, v);
    size += 8;
  }

  void putUnsignedVarInt(int v) {
    ensure(5);
    while ((v & ~0x7F) != 0) {
      data[size++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    data[size++] = (byte) v;
  }

  void put(Buf other) {
    write(other.data, 0, other.size);
  }
}
