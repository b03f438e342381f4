using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using TrustLaunch.Cli.Commands.KeyProvider;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Kbs.Admin;
using TrustLaunch.Kbs.Resources;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// Two first wraps of one kid at once, against the real broker's admin API (create-only PUT): both read "no key"
/// before either creates one, both create, one wins — and the loser wraps under the winner's key, so no image is left
/// encrypted under a key the broker does not hold.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsEndToEndFixture.Collection)]
public sealed class ImageKeyEncryptionKeysRaceTests(KbsEndToEndFixture stack)
{
    /// <summary>Holds every "no such resource" answer until <paramref name="readers"/> wraps have had one; records the create-only PUTs' answers.</summary>
    private sealed class ReadersTogether(int readers, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private readonly TaskCompletionSource _allRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _reads;

        public ConcurrentQueue<HttpStatusCode> Creates { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.Method == HttpMethod.Put)
                Creates.Enqueue(response.StatusCode);
            if (request.Method == HttpMethod.Get && response.StatusCode == HttpStatusCode.NotFound)
            {
                if (Interlocked.Increment(ref _reads) == readers)
                    _allRead.SetResult();
                await _allRead.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            }
            return response;
        }
    }

    [Fact]
    public async Task GetOrCreate_TwoFirstWrapsAtOnce_LoserWrapsUnderTheWinnersKek()
    {
        var kid = ImageKeyEncryptionKeys.ParseKid("kbs:///default/key/race-" + Guid.NewGuid().ToString("N"));
        using var identity = TlsIdentity.FromDirectory(stack.TlsDirectory, ServiceRoles.KbsAdmin);
        var together = new ReadersTogether(2, TestCa.TrustingHandler(stack.TlsDirectory, identity.Certificate));
        using var http = new HttpClient(together) { BaseAddress = new Uri($"https://127.0.0.1:{stack.AdminPort}/") };
        var admin = new KbsAdminClient(http);

        var keks = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() => ImageKeyEncryptionKeys.GetOrCreateAsync(admin, kid, CancellationToken.None))));

        Assert.Equal([HttpStatusCode.NoContent, HttpStatusCode.PreconditionFailed], together.Creates.Order());
        Assert.Equal(TrustLaunch.Oci.Crypt.KeyProviderPacket.KekLength, keks[0].Length);
        Assert.Equal(keks[0], keks[1]);
        Assert.Equal(keks[0], await admin.GetResourceAsync(ResourcePath.Create(kid.Repository, kid.Type, kid.Tag)));
        foreach (var kek in keks)
            CryptographicOperations.ZeroMemory(kek);
    }
}
