using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Hsm;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Attestation;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Kbs.Resources;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// The broker in this process on a loopback port with its own CA, a SoftHSM wrap key and a clock the tests move. Its
/// registrar and verifier URLs name closed ports: the tests here are refusals decided before the broker asks either.
/// </summary>
public sealed class KbsFixture : IAsyncLifetime
{
    public static readonly TimeSpan SessionTimeout = TimeSpan.FromMinutes(5);
    public const string WrapKeyLabel = "kbs-wrap";

    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-kbs-").FullName;
    private readonly SoftHsmFixture _hsm = new();
    private readonly List<TlsIdentity> _identities = [];
    private WebApplication _app = null!;
    private TokenSigner _signer = null!;
    private HsmResourceKeyWrapper _wrapper = null!;

    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);
    public int Port { get; private set; }
    public WebApplication App => _app;
    public ServiceEndpoint Attesters { get; private set; } = null!;
    public ServiceEndpoint Admin { get; private set; } = null!;
    private string TlsDirectory => Path.Combine(_directory, "tls");

    public async Task InitializeAsync()
    {
        TestCa.Create(TlsDirectory);
        await _hsm.InitializeAsync();
        using (var session = _hsm.OpenSession())
            session.GenerateKey(new HsmKeySpec(HsmKeyKind.Aes, 256), new HsmKeyOptions { Label = WrapKeyLabel, Usage = HsmKeyUsage.Encrypt });
        _wrapper = HsmResourceKeyWrapper.Open(_hsm.Module, Pkcs11Uri.Parse($"pkcs11:token={_hsm.TokenLabel};object={WrapKeyLabel}"), SoftHsmFixture.UserPin);
        _signer = new TokenSigner();
        Port = FreePorts.FindPair();
        var unused = FreePorts.FindPair();
        Attesters = new ServiceEndpoint("attesters", new IPEndPoint(IPAddress.Loopback, Port), false);
        Admin = new ServiceEndpoint("admin", new IPEndPoint(IPAddress.Loopback, Port + 1), true);
        _app = await KbsApp.BuildAsync(new KbsOptions(Path.Combine(_directory, "data"), Attesters, Admin,
            TlsIdentity.FromDirectory(TlsDirectory, ServiceRoles.Kbs),
            new Uri($"https://127.0.0.1:{unused}"), new Uri($"https://127.0.0.1:{unused + 1}"), _signer, _signer, _wrapper)
        { SessionTimeout = SessionTimeout }, Clock);
        await _app.StartAsync();
    }

    /// <summary>An attester's client: trusts the broker's CA, keeps cookies, no client certificate.</summary>
    public HttpClient Client() => TestCa.AnonymousClient(TlsDirectory, Port);

    /// <summary>A client of <paramref name="listener"/> presenting the test CA's certificate of <paramref name="role"/>.</summary>
    public HttpClient Client(string role, ServiceEndpoint listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        var identity = TlsIdentity.FromDirectory(TlsDirectory, role);
        _identities.Add(identity);
        return new ServiceHttpClientFactory(identity).Create(new Uri($"https://127.0.0.1:{listener.Address.Port}/"), ServiceRoles.Kbs);
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        foreach (var identity in _identities)
            identity.Dispose();
        _wrapper.Dispose();
        _signer.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Runs <c>/auth</c> on <paramref name="client"/>; the challenge's nonce.</summary>
    public static async Task<string> AuthAsync(HttpClient client)
    {
        using var response = await client.PostAsJsonAsync("kbs/v0/auth", new KbsAuthRequest("0.4.0", "tpm"), KbsJsonContext.Default.KbsAuthRequest);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync(KbsJsonContext.Default.KbsChallenge))!.Nonce;
    }

    /// <summary>An attestation body whose TPM evidence binds <paramref name="boundNonce"/> and
    /// <paramref name="boundKey"/> (default: what runtime-data says); its quote is not a real one.</summary>
    public static string Attestation(string nonce, Jwk teeKey, string? boundNonce = null, Jwk? boundKey = null)
    {
        using var teePubkey = JsonDocument.Parse(teeKey.ToJson());
        using var bound = JsonDocument.Parse((boundKey ?? teeKey).ToJson());
        var reportData = ReportData.Compute("", boundNonce ?? nonce, bound.RootElement);
        var evidence = new TpmEvidence(Convert.ToBase64String(reportData), Convert.ToBase64String(RandomNumberGenerator.GetBytes(90)),
            new TpmQuoteEvidence(Convert.ToBase64String(new byte[100]), Convert.ToBase64String(new byte[70]), Enumerable.Repeat(new string('0', 64), 24).ToList()));
        var primary = JsonSerializer.SerializeToElement(evidence, KbsJsonContext.Default.TpmEvidence);
        return JsonSerializer.Serialize(new KbsAttestation(new KbsRuntimeData(nonce, teePubkey.RootElement.Clone()), new KbsTeeEvidence(primary, "")),
            KbsJsonContext.Default.KbsAttestation);
    }
}

/// <summary>A clock the tests move.</summary>
public sealed class ManualClock(DateTimeOffset now) : TimeProvider
{
    private DateTimeOffset _now = now;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>The broker's token key for tests: a P-256 key in memory, signing and checking.</summary>
internal sealed class TokenSigner : IPayloadSigner, IPayloadVerifier, IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TokenSigner() => KeyId = Jwk.ThumbprintOf(_key);

    public string Algorithm => JwsAlgorithms.ES256;
    public string KeyId { get; }
    public byte[] Sign(ReadOnlySpan<byte> data) => JwsSignature.Sign(_key, Algorithm, data);
    public bool Verify(string algorithm, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) => JwsSignature.Verify(_key, algorithm, data, signature);
    public string PublicKeyPem() => _key.ExportSubjectPublicKeyInfoPem();
    public void Dispose() => _key.Dispose();
}
