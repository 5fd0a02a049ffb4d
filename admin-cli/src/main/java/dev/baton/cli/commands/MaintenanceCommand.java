package dev.baton.cli.commands;

import dev.baton.admin.api.MaintenanceReport;
import dev.baton.admin.api.MaintenanceRequest;
import dev.baton.cli.AdminClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/** {@code baton maintenance NODE on|off}. */
@Command(name = "maintenance", description = "Takes NODE out of the election (on) or back in (off); a writer is "
        + "first moved away by a planned switchover.")
public final class MaintenanceCommand extends BaseCommand {
    @Parameters(index = "0", paramLabel = "NODE", description = "The node, by its config name.")
    String node;

    @Parameters(index = "1", paramLabel = "on|off", converter = OnOff.class, completionCandidates = OnOff.class,
            description = "on: out of the election; off: back in.")
    Switch state;

    @Mixin
    JsonOutput output;

    /** Maintenance on or off (picocli gives a boolean field special treatment, so this is an enum). */
    enum Switch { ON, OFF }

    @Override
    public Integer call() throws Exception {
        boolean on = state == Switch.ON;
        AdminClient.Reply reply = client().post("/api/v1/nodes/" + URLEncoder.encode(node, StandardCharsets.UTF_8)
                + "/maintenance", new MaintenanceRequest(on), "maintenance refused");
        PrintWriter out = out();
        if (output.printed(out, reply)) {
            return 0;
        }
        MaintenanceReport report = reply.as(MaintenanceReport.class);
        out.printf("node %s is %s maintenance%s%n", node, on ? "in" : "out of", report.switchover() == null ? ""
                : "; the writer moved to " + report.switchover().to() + " first (writes unavailable for "
                + report.switchover().writesUnavailableMs() + " ms)");
        return 0;
    }

    /** {@code on} or {@code off}, nothing else. */
    static final class OnOff implements CommandLine.ITypeConverter<Switch>, Iterable<String> {
        @Override
        public Switch convert(String value) {
            return switch (value) {
                case "on" -> Switch.ON;
                case "off" -> Switch.OFF;
                default -> throw new CommandLine.TypeConversionException("must be on or off, not '" + value + "'");
            };
        }

        @Override
        public java.util.Iterator<String> iterator() {
            return java.util.List.of("on", "off").iterator();
        }
    }
}
