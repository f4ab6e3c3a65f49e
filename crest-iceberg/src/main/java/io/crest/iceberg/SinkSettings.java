package io.crest.iceberg;

import io.crest.iceberg.commit.CommitSettings;
import io.crest.iceberg.write.WriteSettings;

/**
 * What an {@link IcebergSink} was built with, handed to each writer it opens: the writer's half
 * and the committer's half. Immutable.
 */
record SinkSettings(WriteSettings write, CommitSettings commit) {}
