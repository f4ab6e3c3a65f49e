package io.crest.iceberg;

import io.crest.CommitStrategy;
import io.crest.SchemaEvolutionPolicy;
import java.util.List;
import java.util.Map;

/** What an {@link IcebergSink} was built with, handed to each writer it opens. Immutable. */
record SinkSettings(
    Map<String, String> tableProperties,
    List<String> partitionBy,
    List<String> sortBy,
    String location,
    SchemaEvolutionPolicy evolution,
    CommitStrategy strategy,
    String branch,
    int maxOpenFiles,
    boolean clustered,
    boolean genericWriter,
    int encoderThreads,
    CommitRetry retry) {}
