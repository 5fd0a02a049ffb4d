package dev.baton.routing.single;

import dev.baton.routing.core.CheckVerdict;
import dev.baton.routing.core.NodeCheck;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * What one check of the server of a {@code single} cluster saw. The server is up when the monitor user could log in
 * and read its variables and {@code read_only} is OFF; there is nothing to elect, so the state only tells operators.
 *
 * @param error          why the check failed (refused, timed out, access denied), or null if the server answered
 * @param readOnly       {@code @@global.read_only}: ON makes the server refuse every client's writes
 * @param maxConnections {@code @@global.max_connections}, 0 if unread
 * @param settings       server variables shown by {@code baton check} ({@code version}), empty if unread
 */
public record SingleNodeState(Instant checkedAt, String error, boolean readOnly, long maxConnections,
                              Map<String, String> settings) implements NodeCheck {

    public SingleNodeState {
        settings = Map.copyOf(settings);
    }

    public static SingleNodeState unreachable(Instant at, String error) {
        return new SingleNodeState(at, error, false, 0, Map.of());
    }

    public boolean reachable() {
        return error == null;
    }

    @Override
    public CheckVerdict verdict() {
        if (!reachable()) {
            return new CheckVerdict.NoAnswer(error);
        }
        return readOnly ? new CheckVerdict.Unfit("read_only is ON: the server refuses every client's writes")
                : new CheckVerdict.Writable();
    }

    /** One node: nothing to order. */
    @Override
    public int electionOrder() {
        return 0;
    }

    /** No cluster membership. */
    @Override
    public Optional<String> memberId() {
        return Optional.empty();
    }
}
