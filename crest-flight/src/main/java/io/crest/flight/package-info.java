/**
 * Arrow Flight sources for Crest: {@link io.crest.flight.FlightSource} reads one or more Flight
 * {@code DoGet} streams, each resumable by row offset.
 */
package io.crest.flight;
