package dev.baton.routing.core;

import dev.baton.routing.Node;

import java.util.Optional;

/**
 * A node's health with hysteresis: it goes down after {@code fall} consecutive failed checks and comes back up
 * after {@code rise} consecutive writable ones, so one lost check or one good answer does not flap the writer.
 * The very first check decides at once.
 *
 * @param last       the latest check, or null before the first
 * @param lastAnswer the latest check that answered (its member id is the node's identity as last known), or null
 */
public record NodeHealth(Node node, HealthState state, NodeCheck last, NodeCheck lastAnswer) {

    public static NodeHealth initial(Node node) {
        return new NodeHealth(node, new HealthState.NotChecked(), null, null);
    }

    /** The health after one more check. */
    public NodeHealth after(NodeCheck check, int fall, int rise) {
        NodeCheck answer = check.verdict() instanceof CheckVerdict.NoAnswer ? lastAnswer : check;
        return new NodeHealth(node, next(check.verdict(), fall, rise), check, answer);
    }

    private HealthState next(CheckVerdict verdict, int fall, int rise) {
        if (verdict instanceof CheckVerdict.Writable) {
            if (state instanceof HealthState.NotChecked || state.electable() || state instanceof HealthState.Falling) {
                return new HealthState.Up(); // the first check decides at once; one good answer ends a fall
            }
            int good = state instanceof HealthState.Rising r ? r.goodChecks() + 1 : 1;
            return good >= rise ? new HealthState.Up() : new HealthState.Rising(good);
        }
        boolean unfit = verdict instanceof CheckVerdict.Unfit;
        String reason = verdict instanceof CheckVerdict.Unfit u ? u.reason() : ((CheckVerdict.NoAnswer) verdict).reason();
        HealthState down = unfit ? new HealthState.DownUnfit(reason) : new HealthState.DownUnreachable(reason);
        if (state instanceof HealthState.Up) {
            return fall <= 1 ? down : new HealthState.Falling(1, reason, unfit);
        }
        if (state instanceof HealthState.Falling f) {
            return f.failures() + 1 >= fall ? down : new HealthState.Falling(f.failures() + 1, reason, f.answeredUnfit() || unfit);
        }
        return down; // not checked, rising or down: the latest check says which kind of down
    }

    /** Whether the state changed between up (electable) and down, or this is the first check: worth a log line. */
    public boolean upChangedFrom(NodeHealth before) {
        return before.state instanceof HealthState.NotChecked || before.state.electable() != state.electable();
    }

    public boolean checked() {
        return last != null;
    }

    /** The node's member id as of its latest answered check. */
    public Optional<String> knownMemberId() {
        return lastAnswer == null ? Optional.empty() : lastAnswer.memberId();
    }
}
