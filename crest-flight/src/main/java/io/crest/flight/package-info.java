/**
 * Arrow Flight for Crest, both ways.
 *
 * <ul>
 *   <li>{@link io.crest.flight.FlightSource} reads Flight streams: replayed {@code DoGet} streams
 *       (resumed by row offset, live ones kept open), incremental streams following the {@link
 *       io.crest.flight.IncrementalTicket} convention (resumed by a server position), and the
 *       endpoints a {@code GetFlightInfo} lists; it reconnects after transient failures and speaks
 *       TLS, mutual TLS, basic auth and bearer tokens.
 *   <li>{@link io.crest.flight.FlightSqlSource} runs a query on a Flight SQL server and reads
 *       every endpoint of the answer, once or incrementally by a watermark column (resumed by the
 *       watermark value and the rows read at it), with the same TLS, auth and reconnects.
 *   <li>{@link io.crest.flight.FlightIngestServer} receives {@code DoPut}s from producers and
 *       acknowledges each batch once a commit made it durable, exactly once for producers that
 *       number their batches.
 * </ul>
 *
 * <p>The wire conventions are in {@code docs/flight-tickets.md}.
 */
package io.crest.flight;
