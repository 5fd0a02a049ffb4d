package dev.baton.admin.api;

/**
 * {@code GET /healthz} with a writer (HTTP 200): Baton can route, and to which node.
 *
 * @param status   {@code ok}
 * @param warning  a capacity warning for the operator, or null
 */
public record Health(String status, String writer, long epoch, int sessions, String warning) {

    /** {@code GET /healthz} without a writer (HTTP 503), and why. */
    public record NoWriter(String status, String reason) {
    }
}
