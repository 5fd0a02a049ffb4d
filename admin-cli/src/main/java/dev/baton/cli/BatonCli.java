package dev.baton.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * {@code baton}: the operator's command line for a running Baton. It talks to the admin API and nothing else.
 * Exit codes: 0 success, 1 the command ran and the answer is bad (or Baton is unreachable), 2 bad usage.
 */
@Command(name = "baton", mixinStandardHelpOptions = true, versionProvider = BatonCli.Version.class,
        description = "Talks to a running Baton's admin API.",
        subcommands = {BatonCli.Health.class, BatonCli.Status.class, BatonCli.Events.class, BatonCli.SwitchoverCommand.class, BatonCli.Maintenance.class,
                BatonCli.Check.class})
public final class BatonCli implements Runnable {

    @Option(names = "--url", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "Admin API of the Baton to ask (default: $BATON_URL or http://127.0.0.1:6034).")
    String url = System.getenv().getOrDefault("BATON_URL", "http://127.0.0.1:6034");

    @Option(names = "--token", scope = ScopeType.INHERIT, paramLabel = "TOKEN",
            description = "Bearer token of the admin API (default: $BATON_TOKEN).")
    String token = System.getenv("BATON_TOKEN");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the command line with the given streams; returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new BatonCli());
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((ex, a) -> {
            err.println("baton: " + ex.getMessage() + " (see baton --help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            err.println("baton: " + ex.getMessage());
            return 1;
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command");
    }

    /** {@code baton health}: can Baton route, and to which writer? */
    @Command(name = "health", description = "Shows whether Baton can route clients and to which writer; exit 1 if not.")
    static final class Health implements java.util.concurrent.Callable<Integer> {
        @CommandLine.ParentCommand
        BatonCli parent;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            HttpResponse<String> response = send(parent.url, "/healthz", null, null, Duration.ofSeconds(5));
            String body = response.body();
            PrintWriter out = spec.commandLine().getOut();
            if (response.statusCode() == 200) {
                out.println("ok: writer " + field(body, "writer") + " (epoch " + field(body, "epoch") + "), "
                        + field(body, "sessions") + " client session(s)");
                if (!"?".equals(field(body, "warning"))) {
                    out.println("warning: " + field(body, "warning"));
                }
                return 0;
            }
            if (response.statusCode() == 503) {
                out.println("no writer: " + field(body, "reason"));
                return 1;
            }
            throw new IllegalStateException(parent.url + " answered HTTP " + response.statusCode() + ": " + body.strip());
        }

        @SuppressWarnings("unchecked")
        private static String field(String json, String name) {
            Object value = ((Map<String, Object>) JsonReader.parse(json)).get(name);
            return value == null ? "?" : whole(value);
        }
    }

    /** GET of an admin API path, failing with one line unless the answer is 200. */
    static String getOk(BatonCli parent, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = send(parent.url, path, null, parent.token, Duration.ofSeconds(5));
        if (r.statusCode() == 401) {
            throw new IllegalStateException("unauthorized: give the admin token with --token or BATON_TOKEN");
        }
        if (r.statusCode() != 200) {
            throw new IllegalStateException(parent.url + path + " answered HTTP " + r.statusCode() + ": " + r.body().strip());
        }
        return r.body();
    }

    /** {@code baton status}: writer, nodes and clients at a glance. */
    @Command(name = "status", description = "Shows the writer, every node's health and every client's connections.")
    static final class Status implements java.util.concurrent.Callable<Integer> {
        @CommandLine.ParentCommand
        BatonCli parent;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--json", description = "Print the admin API's JSON as it is.")
        boolean json;

        @Override
        @SuppressWarnings("unchecked")
        public Integer call() throws Exception {
            String body = getOk(parent, "/api/v1/status");
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(body.strip());
                return 0;
            }
            Map<String, Object> s = (Map<String, Object>) JsonReader.parse(body);
            Map<String, Object> totals = (Map<String, Object>) s.get("totals");
            out.printf("writer:      %s%n", s.get("writer") == null ? "NONE (" + s.get("no_writer_reason") + ")"
                    : s.get("writer") + " (epoch " + whole(s.get("epoch")) + ")");
            if (s.get("handover") instanceof Map<?, ?> h) {
                out.printf("switchover:  to %s, draining until %s (started by %s); new clients wait%n", h.get("to"),
                        h.get("deadline"), h.get("started_by"));
            }
            out.printf("instance:    %s, %s cluster, up %s s, version %s%n", s.get("instance"), s.get("cluster_type"),
                    whole(s.get("uptime_seconds")), s.get("version"));
            out.printf("connections: %s of %s (%s sessions)%n", whole(totals.get("connections")), whole(totals.get("max_total")),
                    whole(totals.get("sessions")));
            if (s.get("warning") != null) {
                out.printf("warning:     %s%n", s.get("warning"));
            }
            if (s.get("tls") instanceof Map<?, ?> tls) {
                out.printf("tls:         certificate %s (serial %s) expires %s%n", tls.get("subject"), tls.get("serial"),
                        tls.get("certificate_expires"));
            }
            out.println();
            out.printf("%-12s %-22s %-4s %-9s %-6s %s%n", "NODE", "ADDRESS", "PRIO", "STATE", "FLOWCTL", "REASON");
            for (Map<String, Object> n : (List<Map<String, Object>>) s.get("nodes")) {
                String state = !Boolean.TRUE.equals(n.get("monitored")) ? "unmonitored"
                        : Boolean.TRUE.equals(n.get("up")) ? "up" : "down";
                if (Boolean.TRUE.equals(n.get("writer"))) {
                    state += "*";
                }
                out.printf("%-12s %-22s %-4s %-9s %-6s %s%n", n.get("name"), n.get("address"), whole(n.get("priority")), state,
                        n.get("flow_control_paused") == null || n.get("replication") != null ? "-"
                                : String.format("%.2f", (Double) n.get("flow_control_paused")),
                        n.get("down_reason") != null ? n.get("down_reason")
                                : n.get("not_monitored_reason") != null ? n.get("not_monitored_reason") : "");
            }
            boolean replicationShown = false;
            for (Map<String, Object> n : (List<Map<String, Object>>) s.get("nodes")) {
                if (n.get("replication") instanceof Map<?, ?> r) {
                    if (!replicationShown) {
                        out.println();
                        out.println("REPLICATION");
                        replicationShown = true;
                    }
                    for (String line : replicationLines(String.valueOf(n.get("name")), (Map<String, Object>) r)) {
                        out.println(line);
                    }
                }
            }
            out.println();
            out.printf("%-24s %11s %6s %9s%n", "CLIENT", "CONNECTIONS", "LIMIT", "REJECTED");
            for (Map<String, Object> c : (List<Map<String, Object>>) s.get("clients")) {
                out.printf("%-24s %11s %6s %9s%n", c.get("client"), whole(c.get("connections")), whole(c.get("limit")),
                        whole(c.get("rejected")));
            }
            return 0;
        }
    }

    /**
     * A primary/replica node's replication in one line (two when Baton keeps it out): role and source, threads, lag,
     * semi-sync and the GTID positions that tell how far it is, as the status's replication block has them.
     */
    static List<String> replicationLines(String node, Map<String, Object> r) {
        StringBuilder line = new StringBuilder(String.format("%-12s %s", node, r.get("role")));
        Map<?, ?> semi = r.get("semi_sync") instanceof Map<?, ?> m ? m : Map.of();
        if ("replica".equals(r.get("role")) || r.get("source") != null) {
            line.append(" of ").append(r.get("source"))
                    .append(", io ").append(r.get("io_thread")).append(", sql ").append(r.get("sql_thread"))
                    .append(", lag ").append(r.get("lag_seconds") == null ? "?" : whole(r.get("lag_seconds")) + " s")
                    .append(", semi-sync ").append(Boolean.TRUE.equals(semi.get("replica_active")) ? "acking"
                            : Boolean.TRUE.equals(semi.get("replica_enabled")) ? "enabled, not acking" : "off")
                    .append(", slave_pos ").append(position(r.get("gtid_slave_pos")))
                    .append(", io_pos ").append(position(r.get("gtid_io_pos")));
        } else if ("primary".equals(r.get("role"))) {
            line.append(", semi-sync ").append(Boolean.TRUE.equals(semi.get("source_active"))
                            ? "active (" + whole(semi.get("source_clients")) + " replica(s))"
                            : Boolean.TRUE.equals(semi.get("source_enabled")) ? "enabled, fell back to async" : "off")
                    .append(", binlog_pos ").append(position(r.get("gtid_binlog_pos")));
        } else if (r.get("gtid_current_pos") != null) {
            line.append(r.get("read_only") == Boolean.TRUE ? ", read_only" : "")
                    .append(", current_pos ").append(position(r.get("gtid_current_pos")));
        }
        for (String error : new String[]{"last_io_error", "last_sql_error"}) {
            if (r.get(error) != null) {
                line.append(", ").append(error.replace('_', ' ')).append(": ").append(r.get(error));
            }
        }
        List<String> lines = new java.util.ArrayList<>(List.of(line.toString()));
        if (r.get("left_out") != null) {
            lines.add(String.format("%-12s left out: %s", "", r.get("left_out")));
        }
        return lines;
    }

    private static String position(Object gtid) {
        return gtid == null ? "?" : gtid.toString().isEmpty() ? "(empty)" : gtid.toString();
    }

    /** {@code baton events}: the audit trail of writer and node changes. */
    @Command(name = "events", description = "Shows recent writer changes and node state changes, oldest first.")
    static final class Events implements java.util.concurrent.Callable<Integer> {
        @CommandLine.ParentCommand
        BatonCli parent;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--json", description = "Print the admin API's JSON as it is.")
        boolean json;

        @Override
        @SuppressWarnings("unchecked")
        public Integer call() throws Exception {
            String body = getOk(parent, "/api/v1/events");
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(body.strip());
                return 0;
            }
            List<Map<String, Object>> events = (List<Map<String, Object>>) ((Map<String, Object>) JsonReader.parse(body)).get("events");
            if (events.isEmpty()) {
                out.println("no events yet");
            }
            for (Map<String, Object> e : events) {
                out.printf("%s  %-6s %s  (by %s)%n", e.get("time"), e.get("kind"), e.get("description"), e.get("requested_by"));
            }
            return 0;
        }
    }

    /** {@code baton switchover NODE}: a planned writer change for every Baton instance. */
    @Command(name = "switchover", description = "Moves the writer to NODE: holds new clients, lets transactions finish, "
            + "records the new writer for every Baton instance, then lets the held clients through.")
    static final class SwitchoverCommand implements java.util.concurrent.Callable<Integer> {
        @CommandLine.ParentCommand
        BatonCli parent;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @CommandLine.Parameters(paramLabel = "NODE", description = "The node to make the writer, by its config name.")
        String node;

        @Option(names = "--drain-timeout", paramLabel = "DURATION", description = "How long transactions may run on (default: 10s).")
        String drainTimeout = "10s";

        @Option(names = "--json", description = "Print the admin API's JSON as it is.")
        boolean json;

        @Override
        @SuppressWarnings("unchecked")
        public Integer call() throws Exception {
            if (!drainTimeout.matches("\\d+(ms|s|m)")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--drain-timeout must look like 500ms, 10s or 1m");
            }
            String body = post(parent, "/api/v1/switchover", "{\"to\":\"" + node.replace("\"", "") + "\",\"drain-timeout\":\""
                    + drainTimeout + "\"}", "switchover refused");
            Map<String, Object> answer = (Map<String, Object>) JsonReader.parse(body);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(body.strip());
            } else {
                out.printf("writer is now %s (epoch %s, was %s); writes unavailable for %s ms; sessions: %s moving to the new "
                                + "writer, %s closed as not movable, %s closed in a transaction%n", answer.get("to"),
                        whole(answer.get("epoch")), answer.get("from"), whole(answer.get("writes_unavailable_ms")),
                        whole(answer.get("sessions_moving")), whole(answer.get("sessions_closed_not_movable")),
                        whole(answer.get("sessions_closed_in_transaction")));
                if (answer.get("this_instance") instanceof Map<?, ?> here) {
                    Map<?, ?> notMoved = here.get("sessions_not_moved") instanceof Map<?, ?> m ? m : Map.of();
                    out.printf("on %s: %s session(s) moved%s%n", here.get("instance"), whole(here.get("sessions_moved")),
                            notMoved.isEmpty() ? "" : ", not moved: " + notMoved.entrySet().stream()
                                    .map(e -> e.getKey() + " " + whole(e.getValue())).collect(java.util.stream.Collectors.joining(", ")));
                }
                if (answer.get("instances") instanceof List<?> instances && !instances.isEmpty()) {
                    List<String> names = new java.util.ArrayList<>();
                    for (Object i : instances) {
                        names.add(String.valueOf(((Map<String, Object>) i).get("instance")));
                    }
                    out.printf("drained on %d instance(s): %s%n", names.size(), String.join(", ", names));
                }
                if (answer.get("instances_not_heard_from") instanceof List<?> silent && !silent.isEmpty()) {
                    out.printf("no drain report from: %s (they cut their sessions on the old writer when they saw the new "
                            + "writer)%n", String.join(", ", silent.stream().map(String::valueOf).toList()));
                }
            }
            return 0;
        }
    }

    /** {@code baton check}: the cluster against the Rancher HA guidance. Exit 1 if any finding fails. */
    @Command(name = "check", description = "Checks the cluster against the Rancher HA guidance; prints pass/warn/fail per finding.")
    static final class Check implements java.util.concurrent.Callable<Integer> {
        @CommandLine.ParentCommand
        BatonCli parent;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--json", description = "Print the admin API's JSON as it is.")
        boolean json;

        @Override
        @SuppressWarnings("unchecked")
        public Integer call() throws Exception {
            String body = getOk(parent, "/api/v1/check");
            List<Map<String, Object>> findings = (List<Map<String, Object>>) ((Map<String, Object>) JsonReader.parse(body)).get("findings");
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(body.strip());
            } else {
                for (Map<String, Object> f : findings) {
                    out.printf("%-5s %s: %s%n", String.valueOf(f.get("result")).toUpperCase(), f.get("check"), f.get("detail"));
                }
            }
            return findings.stream().anyMatch(f -> "fail".equals(f.get("result"))) ? 1 : 0;
        }
    }

    /** {@code baton maintenance NODE on|off}. */
    @Command(name = "maintenance", description = "Takes NODE out of the election (on) or back in (off); a writer is "
            + "first moved away by a planned switchover.")
    static final class Maintenance implements java.util.concurrent.Callable<Integer> {
        @CommandLine.ParentCommand
        BatonCli parent;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @CommandLine.Parameters(index = "0", paramLabel = "NODE")
        String node;

        @CommandLine.Parameters(index = "1", paramLabel = "on|off")
        String state;

        @Override
        @SuppressWarnings("unchecked")
        public Integer call() throws Exception {
            if (!state.equals("on") && !state.equals("off")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "the second argument must be on or off, not '" + state + "'");
            }
            Map<String, Object> answer = (Map<String, Object>) JsonReader.parse(post(parent, "/api/v1/nodes/" + node
                    + "/maintenance", "{\"on\":" + state.equals("on") + "}", "maintenance refused"));
            PrintWriter out = spec.commandLine().getOut();
            Map<String, Object> moved = (Map<String, Object>) answer.get("switchover");
            out.printf("node %s is %s maintenance%s%n", node, state.equals("on") ? "in" : "out of",
                    moved == null ? "" : "; the writer moved to " + moved.get("to") + " first (writes unavailable for "
                            + whole(moved.get("writes_unavailable_ms")) + " ms)");
            return 0;
        }
    }

    /** POST of a JSON body to an admin API path; the answer's body, or one line saying why it was refused. */
    @SuppressWarnings("unchecked")
    static String post(BatonCli parent, String path, String body, String refused) throws IOException, InterruptedException {
        HttpResponse<String> r = send(parent.url, path, body, parent.token, Duration.ofMinutes(11));
        if (r.statusCode() == 401) {
            throw new IllegalStateException("unauthorized: give the admin token with --token or BATON_TOKEN");
        }
        if (r.statusCode() != 200) {
            throw new IllegalStateException(refused + ": " + ((Map<String, Object>) JsonReader.parse(r.body())).get("error"));
        }
        return r.body();
    }

    private static String whole(Object number) {
        return number instanceof Double d ? String.valueOf(d.longValue()) : String.valueOf(number);
    }

    /** One request to the admin API: a GET, or a POST of {@code jsonBody}; the token is sent when there is one. */
    static HttpResponse<String> send(String base, String path, String jsonBody, String token, Duration timeout)
            throws IOException, InterruptedException {
        URI uri;
        try {
            uri = URI.create(base.replaceAll("/+$", "") + path);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--url '" + base + "' is not a URL");
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(timeout);
        if (jsonBody == null) {
            request.GET();
        } else {
            request.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(jsonBody));
        }
        if (token != null && !token.isBlank()) {
            request.header("Authorization", "Bearer " + token);
        }
        try {
            return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build()
                    .send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new IOException("cannot reach Baton's admin API at " + base + " (is Baton running? is --url right?)");
        }
    }

    /** Version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = BatonCli.class.getPackage().getImplementationVersion();
            return new String[]{"baton " + (v == null ? "development build" : v)};
        }
    }
}
