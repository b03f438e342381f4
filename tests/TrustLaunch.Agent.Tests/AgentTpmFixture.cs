using Microsoft.Extensions.Logging.Abstractions;
using TrustLaunch.Agent.Tpm;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests;

/// <summary>A private swtpm with the agent's keys opened once for a test class (the AK lives at one handle).</summary>
public sealed class AgentTpmFixture : IAsyncLifetime
{
    public const uint AkHandle = 0x8101_0020;

    public SwtpmFixture Swtpm { get; } = new();
    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("trustlaunch-agent-keys-").FullName;
    public AgentTpm Tpm { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Swtpm.InitializeAsync();
        Tpm = await AgentTpm.OpenAsync(Swtpm.OpenDevice(), DataDirectory, AkHandle, NullLogger.Instance, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        Tpm.Dispose();
        await Swtpm.DisposeAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }
}
