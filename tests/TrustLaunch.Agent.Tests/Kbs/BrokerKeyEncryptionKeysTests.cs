using System.Net;
using System.Security.Cryptography;
using TrustLaunch.Agent.Kbs;
using TrustLaunch.Kbs.Client;

namespace TrustLaunch.Agent.Tests.Kbs;

/// <summary>The key-encryption keys of one pull (the broker's answers stand in for NodeKeyBroker, which the end-to-end
/// ProviderRunEndToEndTests drive for real).</summary>
public sealed class BrokerKeyEncryptionKeysTests
{
    private const string Kid = "kbs:///default/key/app";

    [Fact]
    public async Task GetKeyEncryptionKey_SameKidForEveryLayer_FetchedOnceCopiesHandedOutWipedOnDispose()
    {
        var released = RandomNumberGenerator.GetBytes(32);
        var expected = released.ToArray();
        var asked = new List<string>();
        var keys = new BrokerKeyEncryptionKeys((kid, _) =>
        {
            asked.Add(kid);
            return Task.FromResult(released);
        });

        var first = await keys.GetKeyEncryptionKeyAsync(Kid, CancellationToken.None);
        CryptographicOperations.ZeroMemory(first);
        var second = await keys.GetKeyEncryptionKeyAsync(Kid, CancellationToken.None);
        keys.Dispose();

        Assert.Equal([Kid], asked);
        Assert.Equal(expected, second);
        Assert.Equal(new byte[32], released);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => keys.GetKeyEncryptionKeyAsync(Kid, CancellationToken.None));
    }

    [Fact]
    public async Task GetKeyEncryptionKey_BrokerRefuses_CryptographicRefusalAskedOnlyOnce()
    {
        var asked = 0;
        using var keys = new BrokerKeyEncryptionKeys((_, _) =>
        {
            asked++;
            throw new KbsRefusedException("resource", HttpStatusCode.Unauthorized, "AttestationFailed", "agent 'a' is Failed at the verifier, not Attested");
        });

        var first = await Assert.ThrowsAsync<CryptographicException>(() => keys.GetKeyEncryptionKeyAsync(Kid, CancellationToken.None));
        var second = await Assert.ThrowsAsync<CryptographicException>(() => keys.GetKeyEncryptionKeyAsync(Kid, CancellationToken.None));

        Assert.Equal("kbs refused: AttestationFailed: agent 'a' is Failed at the verifier, not Attested", first.Message);
        Assert.Equal(first.Message, second.Message);
        Assert.Equal(1, asked);
    }

    [Fact]
    public async Task GetKeyEncryptionKey_BrokerUnreachable_NotARefusalAndNotRemembered()
    {
        var asked = 0;
        using var keys = new BrokerKeyEncryptionKeys((_, _) =>
        {
            asked++;
            throw new HttpRequestException("connection refused");
        });

        await Assert.ThrowsAsync<HttpRequestException>(() => keys.GetKeyEncryptionKeyAsync(Kid, CancellationToken.None));
        await Assert.ThrowsAsync<HttpRequestException>(() => keys.GetKeyEncryptionKeyAsync(Kid, CancellationToken.None));

        Assert.Equal(2, asked);
    }
}
