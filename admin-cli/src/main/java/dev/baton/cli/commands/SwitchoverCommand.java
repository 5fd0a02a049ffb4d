package dev.baton.cli.commands;

import dev.baton.admin.api.Durations;
import dev.baton.admin.api.SwitchoverReport;
import dev.baton.admin.api.SwitchoverRequest;
import dev.baton.cli.AdminClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.stream.Collectors;

/** {@code baton switchover NODE}: a planned writer change for every Baton instance. */
@Command(name = "switchover", description = "Moves the writer to NODE: holds new clients, lets transactions finish, "
        + "records the new writer for every Baton instance, then lets the held clients through.")
public final class SwitchoverCommand extends BaseCommand {
    @Parameters(paramLabel = "NODE", description = "The node to make the writer, by its config name.")
    String node;

    @Option(names = "--drain-timeout", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How long transactions may run on, like 500ms, 10s or 1m; at most 10m (default: 10s).")
    Duration drainTimeout = Duration.ofSeconds(10);

    @Mixin
    JsonOutput output;

    @Override
    public Integer call() throws Exception {
        AdminClient.Reply reply = client().post("/api/v1/switchover",
                new SwitchoverRequest(node, Durations.format(drainTimeout)), "switchover refused");
        PrintWriter out = out();
        if (output.printed(out, reply)) {
            return 0;
        }
        print(out, reply.as(SwitchoverReport.class));
        return 0;
    }

    private static void print(PrintWriter out, SwitchoverReport report) {
        out.printf("writer is now %s (epoch %s, was %s); writes unavailable for %s ms; sessions: %s moving to the new "
                        + "writer, %s closed as not movable, %s closed in a transaction%n", report.to(), report.epoch(),
                report.from(), report.writesUnavailableMs(), report.sessionsMoving(), report.sessionsClosedNotMovable(),
                report.sessionsClosedInTransaction());
        SwitchoverReport.SessionMoves here = report.thisInstance();
        if (here != null) {
            var notMoved = here.sessionsNotMoved() == null ? java.util.Map.<String, Long>of() : here.sessionsNotMoved();
            out.printf("on %s: %s session(s) moved%s%n", here.instance(), here.sessionsMoved(), notMoved.isEmpty() ? ""
                    : ", not moved: " + notMoved.entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                    .collect(Collectors.joining(", ")));
        }
        if (report.instances() != null && !report.instances().isEmpty()) {
            out.printf("drained on %d instance(s): %s%n", report.instances().size(), report.instances().stream()
                    .map(SwitchoverReport.InstanceDrain::instance).collect(Collectors.joining(", ")));
        }
        if (report.instancesNotHeardFrom() != null && !report.instancesNotHeardFrom().isEmpty()) {
            out.printf("no drain report from: %s (they cut their sessions on the old writer when they saw the new "
                    + "writer)%n", String.join(", ", report.instancesNotHeardFrom()));
        }
    }
}
