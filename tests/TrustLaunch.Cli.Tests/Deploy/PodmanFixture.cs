using System.Diagnostics;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Deploy;

/// <summary>
/// deploy/Containerfile's images, built by podman once per test run (podman's layer cache makes a rebuild of unchanged
/// sources quick). Nothing is pulled: the base is Debian bookworm debootstrapped and imported
/// (<see cref="BaseImage"/>, kept between runs), the build stage's SDK image is that base plus the SDK this machine
/// runs and its CA bundle (<see cref="SdkImage"/>, kept too, named after the SDK's version). podman runs with a
/// containers.conf of its own (runc, whose default rlimits this VM refuses, so set lower; crun fails on its hybrid
/// cgroups), never the system's. Each step's duration goes to <see cref="Timings"/>.
/// </summary>
public sealed class PodmanFixture : IAsyncLifetime
{
    public const string BaseImage = "localhost/trustlaunch-test/debian:bookworm-minbase";
    public const string Images = "localhost/trustlaunch-test";
    public const string Tag = "test";
    public static readonly string[] Targets = ["tenant", "registrar", "verifier", "kbs", "agent", "swtpm", "registry"];

    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(30);

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("trustlaunch-podman-").FullName;
    public string SdkImage { get; private set; } = "";
    public List<string> Timings { get; } = [];

    /// <summary>What every podman and podman-compose call here runs with.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["CONTAINERS_CONF"] = Path.Combine(Directory, "containers.conf"),
        // podman drops HEALTHCHECK from OCI-format images.
        ["BUILDAH_FORMAT"] = "docker",
    };

    public static string Image(string target) => $"{Images}/{target}:{Tag}";

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(Environment["CONTAINERS_CONF"],
            "[containers]\ndefault_ulimits = [\"nofile=4096:4096\", \"nproc=4096:4096\"]\n[engine]\nruntime = \"runc\"\n");
        await TimedAsync("base image", EnsureBaseImageAsync);
        await TimedAsync("SDK image", EnsureSdkImageAsync);
        foreach (var target in Targets)
        {
            await TimedAsync($"target {target}", () => RunAsync(["build", "--format", "docker", "-f", Path.Combine(RepositoryRoot.Path, "deploy", "Containerfile"),
                "--target", target, "--build-arg", $"SDK_IMAGE={SdkImage}", "--build-arg", $"BASE_IMAGE={BaseImage}",
                // The packages restore would otherwise fetch again; a plain build (no volume) restores from nuget.org.
                "--volume", $"{NuGetPackages}:/root/.nuget/packages", "-t", Image(target), RepositoryRoot.Path], $"podman build --target {target}", BuildTimeout));
        }
    }

    /// <summary>podman ARGUMENTS with <see cref="Environment"/>.</summary>
    public Task<ProcessResult> PodmanAsync(params string[] arguments) =>
        ProcessRunner.RunAsync("podman", arguments, Environment, timeout: TimeSpan.FromMinutes(3));

    private async Task EnsureBaseImageAsync()
    {
        if ((await PodmanAsync("image", "exists", BaseImage)).ExitCode == 0)
            return;
        var root = Path.Combine(Directory, "rootfs");
        (await ProcessRunner.RunAsync("debootstrap", ["--variant=minbase", "bookworm", root, "http://deb.debian.org/debian"], timeout: TimeSpan.FromMinutes(10)))
            .EnsureSuccess("debootstrap");
        (await ProcessRunner.RunAsync("sh", ["-c", $"tar -C '{root}' -c . | podman import - {BaseImage}"], Environment, timeout: TimeSpan.FromMinutes(5)))
            .EnsureSuccess("podman import");
        System.IO.Directory.Delete(root, recursive: true);
    }

    /// <summary>The SDK <c>dotnet</c> resolves to, with the CA bundle of this host (its proxy's CA is only there).</summary>
    private async Task EnsureSdkImageAsync()
    {
        var version = (await ProcessRunner.RunAsync("dotnet", ["--version"])).EnsureSuccess("dotnet --version").StandardOutput.Trim();
        SdkImage = $"{Images}/dotnet-sdk:{version}";
        if ((await PodmanAsync("image", "exists", SdkImage)).ExitCode == 0)
            return;
        var sdk = Path.GetDirectoryName(new FileInfo(Path.Combine(DotnetDirectory(), "dotnet")).ResolveLinkTarget(true)?.FullName
            ?? Path.Combine(DotnetDirectory(), "dotnet"))!;
        var context = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "sdk")).FullName;
        File.Copy("/etc/ssl/certs/ca-certificates.crt", Path.Combine(context, "ca-certificates.crt"));
        await File.WriteAllTextAsync(Path.Combine(context, "Containerfile"), $"""
            FROM {BaseImage}
            RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libicu72 libssl3 \
                && rm -rf /var/lib/apt/lists/*
            COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
            COPY dotnet/ /usr/share/dotnet/
            RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet && dotnet --version
            ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

            """);
        (await ProcessRunner.RunAsync("cp", ["-a", sdk, Path.Combine(context, "dotnet")], timeout: TimeSpan.FromMinutes(5))).EnsureSuccess("cp the SDK");
        await RunAsync(["build", "-t", SdkImage, context], "podman build (SDK image)", BuildTimeout);
        System.IO.Directory.Delete(context, recursive: true);
    }

    private static string DotnetDirectory() =>
        System.Environment.GetEnvironmentVariable("PATH")!.Split(':').FirstOrDefault(d => File.Exists(Path.Combine(d, "dotnet")))
        ?? throw new InvalidOperationException("dotnet is not on PATH");

    private static string NuGetPackages =>
        System.Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private async Task RunAsync(string[] arguments, string what, TimeSpan timeout) =>
        (await ProcessRunner.RunAsync("podman", arguments, Environment, timeout: timeout)).EnsureSuccess(what);

    private async Task TimedAsync(string step, Func<Task> action)
    {
        var clock = Stopwatch.StartNew();
        await action();
        Timings.Add($"{step}: {clock.Elapsed.TotalSeconds:0} s");
    }

    public Task DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class PodmanCollection : ICollectionFixture<PodmanFixture>
{
    public const string Name = "podman images";
}
