package dev.baton.cli.commands;

import dev.baton.admin.api.CheckReport;
import dev.baton.cli.AdminClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.PrintWriter;

/** {@code baton check}: the cluster against the Rancher HA guidance. Exit 1 if any finding fails. */
@Command(name = "check", description = "Checks the cluster against the Rancher HA guidance; prints pass/warn/fail per finding.")
public final class CheckCommand extends BaseCommand {
    @Mixin
    JsonOutput output;

    @Override
    public Integer call() throws Exception {
        AdminClient.Reply reply = client().getOk("/api/v1/check");
        CheckReport report = reply.as(CheckReport.class);
        PrintWriter out = out();
        if (!output.printed(out, reply)) {
            for (CheckReport.Finding f : report.findings()) {
                out.printf("%-5s %s: %s%n", String.valueOf(f.result()).toUpperCase(), f.check(), f.detail());
            }
        }
        return report.findings().stream().anyMatch(f -> "fail".equals(f.result())) ? 1 : 0;
    }
}
