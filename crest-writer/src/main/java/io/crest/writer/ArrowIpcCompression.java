package io.crest.writer;

/** Buffer compression of Arrow IPC files, as the Arrow format defines it. */
public enum ArrowIpcCompression {
  NONE,
  LZ4_FRAME,
  ZSTD
}
