package io.crest.flight;

import io.crest.spi.Backoff;
import java.time.Duration;

/** The reading options shared by every reader of one source. Immutable. */
final class ReadSettings {
  final Backoff backoff;
  final int maxReconnectAttempts;
  final Duration pollInterval;
  final Duration callTimeout;
  final int maxConcurrentStreams;
  final ClientSecurity security;

  ReadSettings(
      Backoff backoff,
      int maxReconnectAttempts,
      Duration pollInterval,
      Duration callTimeout,
      int maxConcurrentStreams,
      ClientSecurity security) {
    this.backoff = backoff;
    this.maxReconnectAttempts = maxReconnectAttempts;
    this.pollInterval = pollInterval;
    this.callTimeout = callTimeout;
    this.maxConcurrentStreams = maxConcurrentStreams;
    this.security = security;
  }
}
