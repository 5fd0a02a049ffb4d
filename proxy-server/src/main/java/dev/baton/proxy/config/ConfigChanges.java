package dev.baton.proxy.config;

import dev.baton.routing.ClientQuota;
import dev.baton.routing.ClusterSpec;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What differs between the config Baton runs with and a new one read for a reload, split into what a running Baton
 * can take (quotas but their key, the admin token, the log level, timeouts, which load balancers may send a PROXY
 * protocol header) and what needs a restart (everything else). Each entry names the config key, with the old and new
 * value where it is no secret: {@code quotas.per-client 50 -> 60}, {@code admin.token}.
 *
 * @param live    the changes a reload applies
 * @param restart the changes a reload refuses, each ending in "needs a restart"
 */
public record ConfigChanges(List<String> live, List<String> restart) {

    public ConfigChanges {
        live = List.copyOf(live);
        restart = List.copyOf(restart);
    }

    /** The changes from {@code running} to {@code next}, in config order. */
    public static ConfigChanges between(BatonConfig running, BatonConfig next) {
        List<String> live = new ArrayList<>();
        List<String> restart = new ArrayList<>();
        needsRestart(restart, "listen", running.listen(), next.listen());
        needsRestart(restart, "admin.listen", running.adminListen(), next.adminListen());
        if (!Objects.equals(running.adminToken(), next.adminToken())) {
            live.add("admin.token"); // never its value
        }
        needsRestart(restart, "cluster.type", running.clusterType().configName(), next.clusterType().configName());
        cluster(restart, running.cluster(), next.cluster());
        changed(live, "timeouts.connect", duration(running.connectTimeout()), duration(next.connectTimeout()));
        changed(live, "timeouts.handshake", duration(running.handshakeTimeout()), duration(next.handshakeTimeout()));
        changed(live, "timeouts.close", duration(running.closeTimeout()), duration(next.closeTimeout()));
        needsRestart(restart, "io-threads", running.ioThreads(), next.ioThreads());
        needsRestart(restart, "transport", running.transport().configName(), next.transport().configName());
        quotas(live, restart, running.quotas(), next.quotas());
        needsRestart(restart, "sessions.move", running.sessions().move(), next.sessions().move());
        changed(live, "proxy-protocol.accept-from", running.proxyProtocol().acceptFrom(), next.proxyProtocol().acceptFrom());
        changed(live, "proxy-protocol.require", running.proxyProtocol().require(), next.proxyProtocol().require());
        if (!Objects.equals(running.tls(), next.tls())) {
            restart.add("tls needs a restart (new files at the same paths are reloaded without one)");
        }
        changed(live, "log-level", level(running.logLevel()), level(next.logLevel()));
        return new ConfigChanges(live, restart);
    }

    /** Whether nothing differs. */
    public boolean none() {
        return live.isEmpty() && restart.isEmpty();
    }

    private static void cluster(List<String> restart, ClusterSpec running, ClusterSpec next) {
        // Names only: these hold passwords.
        if (!running.nodes().equals(next.nodes())) {
            restart.add("cluster.nodes needs a restart");
        }
        if (!Objects.equals(running.monitor() == null ? null : running.monitor().withTls(dev.baton.routing.ServerTls.DISABLED),
                next.monitor() == null ? null : next.monitor().withTls(dev.baton.routing.ServerTls.DISABLED))) {
            restart.add("cluster.monitor needs a restart");
        }
        needsRestart(restart, "cluster.failback", running.failback(), next.failback());
        needsRestart(restart, "cluster.connect-wait", duration(running.connectWait()), duration(next.connectWait()));
        needsRestart(restart, "cluster.schema", running.schema(), next.schema());
        needsRestart(restart, "instance-name", running.instanceName(), next.instanceName());
        if (!Objects.equals(running.replication(), next.replication())) {
            restart.add("cluster.replication needs a restart");
        }
        needsRestart(restart, "cluster.proxy-protocol", running.proxyProtocol(), next.proxyProtocol());
        if (!Objects.equals(running.tls(), next.tls())) {
            restart.add("cluster.tls needs a restart");
        }
    }

    private static void quotas(List<String> live, List<String> restart, ClientQuota.Settings running,
                               ClientQuota.Settings next) {
        if (running.key() != next.key()) {
            restart.add("quotas.key " + running.key().configName() + " -> " + next.key().configName()
                    + " needs a restart (connections are counted by key)");
        }
        changed(live, "quotas.per-client", running.perClient(), next.perClient());
        changed(live, "quotas.max-total", running.maxTotal(), next.maxTotal());
        changed(live, "quotas.clients", new java.util.TreeMap<>(running.overrides()), new java.util.TreeMap<>(next.overrides()));
        changed(live, "quotas.idle-expiry", duration(running.idleExpiry()), duration(next.idleExpiry()));
        changed(live, "quotas.wait", duration(running.maxWait()), duration(next.maxWait()));
    }

    private static void changed(List<String> to, String key, Object before, Object after) {
        if (!Objects.equals(before, after)) {
            to.add(key + " " + before + " -> " + after);
        }
    }

    private static void needsRestart(List<String> to, String key, Object before, Object after) {
        if (!Objects.equals(before, after)) {
            to.add(key + " " + before + " -> " + after + " needs a restart");
        }
    }

    private static String level(BatonConfig.LogLevel level) {
        return level == null ? "(not set)" : level.configName();
    }

    /** A duration as the config writes one: {@code 10s}, {@code 250ms}. */
    private static String duration(Duration d) {
        if (d == null) {
            return null;
        }
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }
}
