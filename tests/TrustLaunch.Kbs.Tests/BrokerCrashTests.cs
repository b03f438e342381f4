using System.Collections.Concurrent;
using System.Net;
using System.Text;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Admin;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Kbs.Resources;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary><c>trustlaunch serve kbs</c> killed with SIGKILL while resources are being stored: every stored resource
/// is there after the restart, sessions of the old process are refused as unknown, new handshakes work.</summary>
[Trait("Category", "Slow")]
[Collection(KbsStackFixture.Collection)]
public sealed class BrokerCrashTests(KbsStackFixture stack)
{
    [Fact]
    public async Task KilledMidTraffic_EveryAcknowledgedResourceKeptAndOldSessionsRefused()
    {
        using var attested = stack.Client();
        using var key = JweDecryptionKey.CreateP256();
        await KbsWire.AttestAsync(attested, await stack.EvidenceAsync(stack.Nodes[0]), key);
        await stack.PutResourceAsync("default/key/before-crash", "kept"u8.ToArray());
        using var identity = TlsIdentity.FromDirectory(stack.TlsDirectory, ServiceRoles.KbsAdmin);
        using var http = new ServiceHttpClientFactory(identity).Create(new Uri($"https://127.0.0.1:{stack.AdminPort}/"), ServiceRoles.Kbs);
        var admin = new KbsAdminClient(http);
        var acknowledged = new ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal);
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var path = ResourcePath.Parse($"crash/key/r{i}");
                var bytes = Encoding.UTF8.GetBytes($"resource {i}");
                try
                {
                    await admin.PutResourceAsync(path, bytes);
                    acknowledged[path.ToString()] = bytes;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    return i;
                }
            }
            return -1;
        });
        await Eventually.WaitForValueAsync(() => Task.FromResult(acknowledged.Count >= 5 ? true : (bool?)null), () => "five resources stored: not reached in time");

        await stack.Kbs.KillAsync();
        var interrupted = await writer;
        await stack.Kbs.StartAsync();

        Assert.True(interrupted >= 5, $"the writer stopped at {interrupted}");
        var listed = (await admin.ListResourcesAsync()).ToDictionary(e => e.Path, e => e.Size, StringComparer.Ordinal);
        Assert.Contains("default/key/before-crash", listed.Keys);
        foreach (var (path, bytes) in acknowledged)
        {
            Assert.Equal(bytes.Length, listed[path]);
            Assert.Equal(bytes, await admin.GetResourceAsync(ResourcePath.Parse(path)));
        }
        using (var old = await KbsWire.GetResourceAsync(attested, "default/key/before-crash"))
        {
            await KbsWire.AssertErrorAsync(old, HttpStatusCode.Unauthorized, KbsErrorNames.InvalidCookie,
                "the kbs-session-id cookie names no session of this broker");
        }
        using var fresh = stack.Client();
        var client = new KbsClient(fresh, new Uri($"https://127.0.0.1:{stack.Port}"), await stack.EvidenceAsync(stack.Nodes[0]));
        Assert.Equal("kept"u8.ToArray(), await client.FetchAsync(KbsResourceUri.Parse("kbs:///default/key/before-crash")));
    }
}
