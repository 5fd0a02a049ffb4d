package dev.baton.cli.commands;

import dev.baton.admin.api.ApiError;
import dev.baton.admin.api.ReloadReport;
import dev.baton.cli.AdminClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.PrintWriter;

/** {@code baton reload}: as {@code systemctl reload baton} (SIGHUP), but from anywhere the admin API is reachable. */
@Command(name = "reload", description = "Makes Baton read its config file again and apply what can change while it "
        + "runs (quotas, admin token, log level, timeouts); refused whole, exit 1, if anything else changed.")
public final class ReloadCommand extends BaseCommand {
    @Mixin
    JsonOutput output;

    @Override
    public Integer call() throws Exception {
        AdminClient.Reply reply = client().send("/api/v1/reload", "{}", true);
        PrintWriter out = out();
        if (reply.status() != 200 && reply.status() != 409) {
            String why;
            try {
                why = reply.as(ApiError.class).error();
            } catch (IllegalArgumentException e) {
                why = "HTTP " + reply.status() + ": " + reply.body().strip();
            }
            throw new IllegalStateException("reload refused: " + why);
        }
        boolean applied = reply.status() == 200;
        if (output.printed(out, reply)) {
            return applied ? 0 : 1;
        }
        ReloadReport report = reply.as(ReloadReport.class);
        if (applied) {
            out.println("config reloaded from " + report.file() + (report.changed().isEmpty() ? ": nothing changed" : ""));
            report.changed().forEach(change -> out.println("  changed " + change));
            return 0;
        }
        PrintWriter err = spec.commandLine().getErr();
        err.println("baton: config reload refused, Baton runs on unchanged (" + report.file() + "):");
        report.refused().forEach(why -> err.println("  " + why));
        return 1;
    }
}
