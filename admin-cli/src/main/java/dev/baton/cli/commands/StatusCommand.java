package dev.baton.cli.commands;

import dev.baton.admin.api.Status;
import dev.baton.cli.AdminClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** {@code baton status}: writer, nodes and clients at a glance. */
@Command(name = "status", description = "Shows the writer, every node's health and every client's connections.")
public final class StatusCommand extends BaseCommand {
    @Mixin
    JsonOutput output;

    @Override
    public Integer call() throws Exception {
        AdminClient.Reply reply = client().getOk("/api/v1/status");
        PrintWriter out = out();
        if (output.printed(out, reply)) {
            return 0;
        }
        Status s = reply.as(Status.class);
        out.printf("writer:      %s%n", s.writer() == null ? "NONE (" + s.noWriterReason() + ")"
                : s.writer() + " (epoch " + s.epoch() + ")");
        if (s.handover() != null) {
            out.printf("switchover:  to %s, draining until %s (started by %s); new clients wait%n", s.handover().to(),
                    s.handover().deadline(), s.handover().startedBy());
        }
        out.printf("instance:    %s, %s cluster, up %s s, version %s%n", s.instance(), s.clusterType(), s.uptimeSeconds(),
                s.version());
        out.printf("connections: %s of %s (%s sessions)%n", s.totals().connections(), s.totals().maxTotal(),
                s.totals().sessions());
        if (s.warning() != null) {
            out.printf("warning:     %s%n", s.warning());
        }
        if (s.tls() != null) {
            out.printf("tls:         certificate %s (serial %s) expires %s%n", s.tls().subject(), s.tls().serial(),
                    s.tls().certificateExpires());
        }
        out.println();
        out.printf("%-12s %-22s %-4s %-9s %-6s %s%n", "NODE", "ADDRESS", "PRIO", "STATE", "FLOWCTL", "REASON");
        for (Status.NodeStatus n : s.nodes()) {
            String state = !n.monitored() ? "unmonitored" : Boolean.TRUE.equals(n.up()) ? "up" : "down";
            if (n.writer()) {
                state += "*";
            }
            out.printf("%-12s %-22s %-4s %-9s %-6s %s%n", n.name(), n.address(), n.priority(), state,
                    n.flowControlPaused() == null || n.replication() != null ? "-" : String.format("%.2f", n.flowControlPaused()),
                    n.downReason() != null ? n.downReason() : n.notMonitoredReason() != null ? n.notMonitoredReason() : "");
        }
        boolean replicationShown = false;
        for (Status.NodeStatus n : s.nodes()) {
            if (n.replication() != null) {
                if (!replicationShown) {
                    out.println();
                    out.println("REPLICATION");
                    replicationShown = true;
                }
                for (String line : replicationLines(n.name(), n.replication())) {
                    out.println(line);
                }
            }
        }
        out.println();
        out.printf("%-24s %11s %6s %9s%n", "CLIENT", "CONNECTIONS", "LIMIT", "REJECTED");
        for (Status.ClientUsage c : s.clients()) {
            out.printf("%-24s %11s %6s %9s%n", c.client(), c.connections(), c.limit(), c.rejected());
        }
        return 0;
    }

    /**
     * A primary/replica node's replication in one line (two when Baton keeps it out): role and source, threads, lag,
     * semi-sync and the GTID positions that tell how far it is, as the status's replication block has them.
     */
    static List<String> replicationLines(String node, Status.Replication r) {
        StringBuilder line = new StringBuilder(String.format("%-12s %s", node, r.role()));
        Status.SemiSync semi = r.semiSync() == null ? new Status.SemiSync(null, null, null, null, null) : r.semiSync();
        if ("replica".equals(r.role()) || r.source() != null) {
            line.append(" of ").append(r.source())
                    .append(", io ").append(r.ioThread()).append(", sql ").append(r.sqlThread())
                    .append(", lag ").append(r.lagSeconds() == null ? "?" : r.lagSeconds() + " s")
                    .append(", semi-sync ").append(Boolean.TRUE.equals(semi.replicaActive()) ? "acking"
                            : Boolean.TRUE.equals(semi.replicaEnabled()) ? "enabled, not acking" : "off")
                    .append(", slave_pos ").append(position(r.gtidSlavePos()))
                    .append(", io_pos ").append(position(r.gtidIoPos()));
        } else if ("primary".equals(r.role())) {
            line.append(", semi-sync ").append(Boolean.TRUE.equals(semi.sourceActive())
                            ? "active (" + semi.sourceClients() + " replica(s))"
                            : Boolean.TRUE.equals(semi.sourceEnabled()) ? "enabled, fell back to async" : "off")
                    .append(", binlog_pos ").append(position(r.gtidBinlogPos()));
        } else if (r.gtidCurrentPos() != null) {
            line.append(r.readOnly() ? ", read_only" : "")
                    .append(", current_pos ").append(position(r.gtidCurrentPos()));
        }
        if (r.lastIoError() != null) {
            line.append(", last io error: ").append(r.lastIoError());
        }
        if (r.lastSqlError() != null) {
            line.append(", last sql error: ").append(r.lastSqlError());
        }
        List<String> lines = new ArrayList<>(List.of(line.toString()));
        if (r.leftOut() != null) {
            lines.add(String.format("%-12s left out: %s", "", r.leftOut()));
        }
        return lines;
    }

    private static String position(String gtid) {
        return gtid == null ? "?" : gtid.isEmpty() ? "(empty)" : gtid;
    }
}
