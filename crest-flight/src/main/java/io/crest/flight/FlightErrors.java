package io.crest.flight;

import io.crest.errors.SourceException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateException;
import java.util.EnumSet;
import java.util.Set;
import javax.net.ssl.SSLException;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;

/**
 * Sorts Flight failures into transient ones (reconnect and resume) and permanent ones (fail
 * fast), and words the {@link SourceException} a reader reports. Stateless.
 */
final class FlightErrors {
  /**
   * Status codes after which a reconnect may succeed: the server is away or overloaded, or the call
   * ran out of time or was cut by the server or a proxy.
   */
  static final Set<FlightStatusCode> TRANSIENT =
      EnumSet.of(
          FlightStatusCode.UNAVAILABLE,
          FlightStatusCode.TIMED_OUT,
          FlightStatusCode.RESOURCE_EXHAUSTED,
          FlightStatusCode.CANCELLED);

  private FlightErrors() {}

  /**
   * Whether a reconnect may cure {@code error}: a transient status code, and not a TLS handshake
   * failure (an untrusted or rejected certificate stays so).
   */
  static boolean isTransient(Throwable error) {
    if (!(error instanceof FlightRuntimeException)) {
      return false;
    }
    if (tlsFailure(error) != null) {
      return false;
    }
    return TRANSIENT.contains(((FlightRuntimeException) error).status().code());
  }

  /** The TLS exception in the cause chain of {@code error}, or {@code null}. */
  static SSLException tlsFailure(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof SSLException) {
        return (SSLException) t;
      }
    }
    return null;
  }

  private static boolean untrustedCertificate(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof CertPathBuilderException
          || t instanceof CertificateException
          || t instanceof java.security.cert.CertPathValidatorException) {
        return true;
      }
    }
    return false;
  }

  /**
   * Words a failure of {@code action} (for example {@code read stream orders}) against {@code
   * endpoint} as a {@link SourceException} carrying the Flight status code and the stream.
   *
   * @param stream the stream concerned, or {@code null} for a discovery
   * @param suffix extra text after the hint, such as the number of attempts, or empty
   */
  static SourceException toSourceException(
      String action, String endpoint, String stream, Throwable error, String suffix) {
    if (error instanceof SourceException) {
      return (SourceException) error;
    }
    String prefix = "Cannot " + action + " from " + endpoint + ": ";
    if (error instanceof FlightRuntimeException) {
      CallStatus status = ((FlightRuntimeException) error).status();
      String code = status.code().name();
      String description = status.description();
      String message = prefix + code
          + (description == null || description.isEmpty() ? "" : ": " + description)
          + parenthesis(hint(status, error), suffix);
      return new SourceException(message, stream, code, error);
    }
    if (error instanceof InterruptedException) {
      return new SourceException(
          prefix + "the reader thread was interrupted (stop the pipeline to stop its source)",
          stream, null, error);
    }
    return new SourceException(prefix + error + parenthesis("", suffix), stream, null, error);
  }

  private static String parenthesis(String hint, String suffix) {
    if (hint.isEmpty() && suffix.isEmpty()) {
      return "";
    }
    if (hint.isEmpty() || suffix.isEmpty()) {
      return " (" + hint + suffix + ")";
    }
    return " (" + hint + "; " + suffix + ")";
  }

  private static String hint(CallStatus status, Throwable error) {
    SSLException tls = tlsFailure(error);
    if (tls != null) {
      if (untrustedCertificate(tls)) {
        return "TLS handshake failed: the server's certificate is not trusted; pass the CA that"
            + " signed it with trustedCertificates(path)";
      }
      return "TLS handshake failed: " + tls.getMessage() + "; if the server requires mutual"
          + " TLS, check the client certificate given with clientCertificate(chain, key)";
    }
    switch (status.code()) {
      case UNAVAILABLE:
        return "the server is unreachable or went away; retry later";
      case NOT_FOUND:
        return "the server does not know the ticket; check the view name";
      case UNAUTHENTICATED:
        return "the server rejected the credentials; check the user and password given with"
            + " basicAuth(user, password) or the token given with bearerToken(token)";
      case UNAUTHORIZED:
        return "the credentials are valid but may not read this; check the server's grants";
      case TIMED_OUT:
        return "the server did not answer in time; retry later or raise callTimeout";
      default:
        return "";
    }
  }
}
