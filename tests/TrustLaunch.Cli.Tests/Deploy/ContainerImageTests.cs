using TrustLaunch.Hosting.Pki;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Deploy;

/// <summary>
/// deploy/Containerfile's images as built: who each runs as, that the runtime carries the native binary and no SDK,
/// and that a role's HEALTHCHECK is the probe it should be and refuses when nothing serves.
/// </summary>
[Collection(PodmanCollection.Name)]
[Trait("Category", "Slow")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ContainerImageTests(PodmanFixture podman)
{
    public static TheoryData<string, string> Users => new()
    {
        { "registrar", "trustlaunch" }, { "verifier", "trustlaunch" }, { "kbs", "trustlaunch" }, { "swtpm", "trustlaunch" },
        { "tenant", "trustlaunch" }, { "registry", "docker-registry" },
        // The agent mounts root filesystems and starts crun/runc: root, in a privileged container.
        { "agent", "" },
    };

    [Theory]
    [MemberData(nameof(Users))]
    public async Task EachRoleRunsAsItsUser(string target, string user)
    {
        var configured = (await podman.PodmanAsync("image", "inspect", "--format", "{{.Config.User}}", PodmanFixture.Image(target))).EnsureSuccess("inspect");
        Assert.Equal(user, configured.StandardOutput.Trim());
        var id = (await podman.PodmanAsync("run", "--rm", "--no-healthcheck", "--entrypoint", "id", PodmanFixture.Image(target), "-un")).EnsureSuccess("id");
        Assert.Equal(user == "" ? "root" : user, id.StandardOutput.Trim());
    }

    [Theory]
    [InlineData("tenant")]
    [InlineData("agent")]
    [InlineData("kbs")]
    public async Task TheRuntimeHasTheNativeBinaryAndNoSdk(string target)
    {
        var listing = (await podman.PodmanAsync("run", "--rm", "--no-healthcheck", "--entrypoint", "sh", PodmanFixture.Image(target), "-c",
            "ls /usr/lib/trustlaunch; command -v dotnet || echo no dotnet; [ -e /usr/share/dotnet ] || [ -e /usr/lib/dotnet ] || echo no SDK directory; "
            + "trustlaunch --version >/dev/null && echo runs")).EnsureSuccess("listing");
        Assert.Equal("libe_sqlite3.so\ntrustlaunch\nno dotnet\nno SDK directory\nruns\n", listing.StandardOutput);
    }

    public static TheoryData<string, string> Probes => new()
    {
        { "registrar", "trustlaunch health https://127.0.0.1:8890 --role registrar" },
        { "verifier", "trustlaunch health https://127.0.0.1:8880 --role verifier" },
        { "kbs", "trustlaunch health https://127.0.0.1:8081 --role kbs" },
        { "agent", "trustlaunch health https://127.0.0.1:9002 --role agent" },
    };

    /// <summary>The HEALTHCHECK is kept in the image and, with the role's certificate but no server, fails with the reason.</summary>
    [Theory]
    [MemberData(nameof(Probes))]
    public async Task TheHealthcheckRefusesWithoutAServer(string role, string probe)
    {
        var test = (await podman.PodmanAsync("image", "inspect", "--format", "{{join .Config.Healthcheck.Test \" \"}}", PodmanFixture.Image(role))).EnsureSuccess("inspect");
        Assert.Equal("CMD " + probe, test.StandardOutput.Trim());

        var tls = Directory.CreateTempSubdirectory("trustlaunch-image-tls-").FullName;
        try
        {
            using (var ca = TestCa.Init(tls))
                ca.IssueLoopback(role, role);
            // The certificate as `ca` gives it to the role's volume: owned by the user the role runs as.
            var owner = role == ServiceRoles.Agent ? "0:0" : "10001:10001";
            (await ProcessRunner.RunAsync("chown", ["-R", owner, tls])).EnsureSuccess("chown");
            var check = await podman.PodmanAsync(["run", "--rm", "--no-healthcheck", "--volume", $"{tls}:/etc/trustlaunch/tls:ro", "--entrypoint", "sh", PodmanFixture.Image(role), "-c", probe]);
            var port = probe.Split(' ')[2].Split(':')[2];
            Assert.Equal(1, check.ExitCode);
            Assert.Equal($"error: {role} https://127.0.0.1:{port}/ unreachable: Connection refused (127.0.0.1:{port})\n", check.StandardError);
        }
        finally
        {
            Directory.Delete(tls, recursive: true);
            Directory.Delete(TestCa.KeyDirectory(tls), recursive: true);
        }
    }
}
