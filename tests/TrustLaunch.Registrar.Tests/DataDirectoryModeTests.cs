using System.Globalization;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Testing;

namespace TrustLaunch.Registrar.Tests;

/// <summary>
/// Registrar, verifier and agent as real processes started with umask 000: their data directories (and the parents
/// they create) are 0700, the SQLite files with their -wal and -shm and the verifier's signing key 0600, and an
/// existing data directory open to others is narrowed.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataDirectoryModeTests(RegistrarFixture fixture) : IClassFixture<RegistrarFixture>
{
    private const UnixFileMode Directory0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Umask000_RegistrarVerifierAgent_DataDirs0700DatabaseFiles0600()
    {
        var root = Path.Combine(fixture.Directory, "umask000");
        var wrapper = WriteUmaskWrapper(Path.Combine(fixture.Directory, "umask000.sh"));
        var registrarData = Path.Combine(root, "nested", "registrar");
        var verifierData = Path.Combine(root, "verifier");
        var agentData = Path.Combine(root, "agent");
        Directory.CreateDirectory(verifierData);
        File.SetUnixFileMode(verifierData, (UnixFileMode)0x1FF);
        var registrarPort = FreePorts.FindPair();
        var verifierPort = FreePorts.FindPair();
        var agentPort = FreePorts.FindPair();
        var tls = fixture.TlsDirectory;
        var agentId = Guid.NewGuid().ToString();

        await using (await ServiceProcess.StartAsync("registrar",
        [
            "--data-dir", registrarData, "--tls-dir", tls, "--ek-ca", Path.Combine(RegistrarFixture.SwtpmLocalCa, "issuercert.pem"),
            "--ek-ca", Path.Combine(RegistrarFixture.SwtpmLocalCa, "swtpm-localca-rootca-cert.pem"),
            "--listen", $"127.0.0.1:{registrarPort}", "--management-listen", $"127.0.0.1:{registrarPort + 1}",
        ], new Uri($"https://127.0.0.1:{registrarPort}/readyz"), fixture.AgentClient(), Path.Combine(root, "registrar.log"), wrapper))
        await using (await ServiceProcess.StartAsync("verifier",
        [
            "--data-dir", verifierData, "--tls-dir", tls, "--registrar", $"https://127.0.0.1:{registrarPort + 1}",
            "--listen", $"127.0.0.1:{verifierPort}", "--tenant-listen", $"127.0.0.1:{verifierPort + 1}",
        ], new Uri($"https://127.0.0.1:{verifierPort}/readyz"), Probe(tls, ServiceRoles.Agent, ServiceRoles.Verifier), Path.Combine(root, "verifier.log"), wrapper))
        await using (await ServiceProcess.StartAsync("agent",
        [
            "--agent-id", agentId, "--data-dir", agentData, "--tpm", fixture.Swtpm.Tcti, "--tls-dir", tls,
            "--registrar", $"https://127.0.0.1:{registrarPort}", "--listen", $"127.0.0.1:{agentPort}",
        ], new Uri($"https://127.0.0.1:{agentPort}/readyz"), Probe(tls, ServiceRoles.Verifier, ServiceRoles.Agent), Path.Combine(root, "agent.log"), wrapper))
        {
            var management = new Hosting.Clients.RegistrarClient(new Hosting.Clients.ServiceHttpClientFactory(
                TlsIdentity.FromDirectory(tls, ServiceRoles.Tenant)).Create(new Uri($"https://127.0.0.1:{registrarPort + 1}/"), ServiceRoles.Registrar));
            for (var i = 0; i < 100 && await management.GetAsync(agentId) is not { Active: true }; i++)
                await Task.Delay(100);
            Assert.True((await management.GetAsync(agentId))?.Active, "the agent did not register");

            foreach (var directory in new[] { Path.Combine(root, "nested"), registrarData, verifierData, agentData })
                Assert.Equal((directory, Directory0700), (directory, File.GetUnixFileMode(directory)));
            var files = new[] { "registrar.db", "registrar.db-wal", "registrar.db-shm" }.Select(f => Path.Combine(registrarData, f))
                .Concat(new[] { "verifier.db", "verifier.db-wal", "verifier.db-shm", "verifier-signing.key" }.Select(f => Path.Combine(verifierData, f)));
            foreach (var file in files)
                Assert.Equal((file, File0600), (file, File.GetUnixFileMode(file)));
        }
    }

    private static string WriteUmaskWrapper(string path)
    {
        var (fileName, prefix) = ServiceProcess.CliCommand();
        var command = string.Join(' ', new[] { fileName }.Concat(prefix).Select(a => "'" + a + "'"));
        File.WriteAllText(path, string.Create(CultureInfo.InvariantCulture, $"#!/bin/sh\numask 000\nexec {command} \"$@\"\n"));
        File.SetUnixFileMode(path, Directory0700);
        return path;
    }

    /// <summary>A readiness probe presenting <paramref name="certificate"/> that expects a server of <paramref name="serverRole"/>.</summary>
    private static HttpClient Probe(string tls, string certificate, string serverRole) =>
        new Hosting.Clients.ServiceHttpClientFactory(TlsIdentity.FromDirectory(tls, certificate)).Create(new Uri("https://127.0.0.1/"), serverRole);
}
