package io.crest.internal;

import java.util.List;

/** The items other than batches that travel through a pipeline's queues, in order with them. */
final class QueueItems {
  private QueueItems() {}

  /** Control items. */
  enum Control {
    /** The source has no more data: flush, then report idle once committed. */
    SOURCE_COMPLETE,
    /** Stop: flush and end the writer thread. */
    STOP,
    /** Committer: everything before this is committed, the pipeline is idle. */
    IDLE,
    /** Committer: the writer recorded a failure; nothing after this is committed. */
    FAILED,
    /** Committer: no more committables. */
    END
  }

  /** Streams whose positions the source no longer needs, queued after the batches before it. */
  record Forget(List<String> streams) {}

  /** A source failure, queued after the batches that arrived before it. */
  record SourceFailed(Throwable error) {}
}
