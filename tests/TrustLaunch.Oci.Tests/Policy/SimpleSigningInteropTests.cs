using System.Collections.Concurrent;
using System.Net;
using System.Text;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Policy;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Policy;

/// <summary>OpenPGP simple signing both ways with real skopeo 1.9 and gpg: skopeo signs, we verify; we sign, skopeo's policy accepts.</summary>
[Trait("Category", "Slow")]
public sealed class SimpleSigningInteropTests(GpgSigningFixture fixture) : IClassFixture<GpgSigningFixture>, IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("trustlaunch-signing-").FullName;
    private readonly HttpClient _http = new();

    public void Dispose()
    {
        _http.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    private string PolicyFile(string scope, string keyPath, string identity = "")
    {
        var path = Path.Combine(_work, $"policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, $$"""
            {"default":[{"type":"reject"}],
             "transports":{"docker":{"{{scope}}":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"{{keyPath}}"{{identity}} }]} } }
            """);
        return path;
    }

    /// <summary>skopeo copies the layout to the registry, signing with <paramref name="key"/>; returns the manifest digest.</summary>
    private async Task<Digest> SkopeoSignAsync(string repository, GpgKey key)
    {
        var digestFile = Path.Combine(_work, "digest");
        (await fixture.SkopeoAsync("--insecure-policy", "--registries.d", fixture.RegistriesD, "copy", "--quiet", "--dest-tls-verify=false",
            "--sign-by", key.Fingerprint, "--digestfile", digestFile, $"oci:{fixture.Layout}:v1", $"docker://{fixture.Host}/{repository}:v1")).EnsureSuccess("skopeo copy --sign-by");
        return Digest.Parse(File.ReadAllText(digestFile).Trim());
    }

    private async Task<Digest> PushUnsignedAsync(string repository) =>
        Digest.Parse((await TestImages.PushAsync(fixture, fixture.Layout, "v1", repository)).ManifestDigest);

    private async Task<PolicyVerdict> CheckAsync(string policy, string reference, Digest digest)
    {
        using var client = new RegistryClient();
        var check = new SignaturePolicyCheck(SignaturePolicy.Load(policy), RegistriesD.Load(fixture.RegistriesD), _http);
        return await check.CheckAsync(client, ImageReference.Parse(reference), digest, CancellationToken.None);
    }

    private Task<ProcessResult> SkopeoVerifyAsync(string policy, string reference) =>
        fixture.SkopeoAsync("--policy", policy, "--registries.d", fixture.RegistriesD, "copy", "--quiet", "--src-tls-verify=false",
            $"docker://{reference}", $"dir:{Directory.CreateTempSubdirectory("trustlaunch-skopeo-out-").FullName}");

    [Fact]
    public async Task CheckAsync_SkopeoSignedEd25519_Accepted()
    {
        var digest = await SkopeoSignAsync("skopeo/ed25519", fixture.Ed25519);
        var verdict = await CheckAsync(PolicyFile($"{fixture.Host}/skopeo", fixture.Ed25519.PublicPath), $"{fixture.Host}/skopeo/ed25519:v1", digest);
        Assert.Null(verdict.Refusal);
        Assert.Equal($"docker:{fixture.Host}/skopeo", verdict.Scope);
        Assert.Equal([fixture.Ed25519.Fingerprint], verdict.Signers);
    }

    [Fact]
    public async Task CheckAsync_SkopeoSignedRsa_Accepted()
    {
        var digest = await SkopeoSignAsync("skopeo/rsa", fixture.Rsa);
        var verdict = await CheckAsync(PolicyFile($"{fixture.Host}/skopeo/rsa", fixture.Rsa.PublicPath), $"{fixture.Host}/skopeo/rsa:v1", digest);
        Assert.Null(verdict.Refusal);
        Assert.Equal([fixture.Rsa.Fingerprint], verdict.Signers);
    }

    [Fact]
    public async Task CheckAsync_SignedByAnotherKey_RefusedNamingTheKey()
    {
        var digest = await SkopeoSignAsync("skopeo/other", fixture.Other);
        var policy = PolicyFile($"{fixture.Host}/skopeo", fixture.Ed25519.PublicPath);
        var verdict = await CheckAsync(policy, $"{fixture.Host}/skopeo/other:v1", digest);
        Assert.Equal($"signature policy {policy} (docker:{fixture.Host}/skopeo): signedBy: signed by key {fixture.Other.Fingerprint[^16..]}, which is not among the trusted keys",
            verdict.Refusal);
    }

    [Fact]
    public async Task CheckAsync_SignatureNamesAnotherRepository_Refused()
    {
        var digest = await SkopeoSignAsync("skopeo/original", fixture.Ed25519);
        await PushUnsignedAsync("skopeo/copy");
        // The original's signature, copied beside the copy in the lookaside: valid, but it names the original.
        var from = Path.Combine(fixture.Lookaside, $"skopeo/original@sha256={digest.Hex}");
        var to = Directory.CreateDirectory(Path.Combine(fixture.Lookaside, $"skopeo/copy@sha256={digest.Hex}")).FullName;
        File.Copy(Path.Combine(from, "signature-1"), Path.Combine(to, "signature-1"), overwrite: true);
        var policy = PolicyFile($"{fixture.Host}/skopeo", fixture.Ed25519.PublicPath);

        var verdict = await CheckAsync(policy, $"{fixture.Host}/skopeo/copy:v1", digest);

        Assert.Equal($"signature policy {policy} (docker:{fixture.Host}/skopeo): signedBy: signature by {fixture.Ed25519.Fingerprint}: " +
                     $"signature names {fixture.Host}/skopeo/original:v1, not {fixture.Host}/skopeo/copy:v1", verdict.Refusal);
        Assert.NotEqual(0, (await SkopeoVerifyAsync(policy, $"{fixture.Host}/skopeo/copy:v1")).ExitCode);
    }

    [Fact]
    public async Task CheckAsync_Unsigned_RefusedAsSkopeoDoes()
    {
        var digest = await PushUnsignedAsync("unsigned/app");
        var policy = PolicyFile($"{fixture.Host}/unsigned", fixture.Ed25519.PublicPath);

        var verdict = await CheckAsync(policy, $"{fixture.Host}/unsigned/app:v1", digest);
        var skopeo = await SkopeoVerifyAsync(policy, $"{fixture.Host}/unsigned/app:v1");

        Assert.Equal($"signature policy {policy} (docker:{fixture.Host}/unsigned): signedBy: {SignaturePolicyCheck.NoSignature}", verdict.Refusal);
        Assert.NotEqual(0, skopeo.ExitCode);
        Assert.Contains(SignaturePolicyCheck.NoSignature, skopeo.StandardError);
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("ed25519")]
    public async Task SignToLookaside_OursAcceptedBySkopeoAndByUs(string keyName)
    {
        var key = keyName == "rsa" ? fixture.Rsa : fixture.Ed25519;
        var repository = $"ours/{keyName}";
        var digest = await PushUnsignedAsync(repository);
        var image = ImageReference.Parse($"{fixture.Host}/{repository}:v1");
        var storage = RegistriesD.Load(fixture.RegistriesD).For(image);

        var (path, signer) = ImageSigner.SignToLookaside(image, digest, storage, File.ReadAllBytes(key.SecretPath), []);

        Assert.Equal(Path.Combine(fixture.Lookaside, $"{repository}@sha256={digest.Hex}", "signature-1"), path);
        Assert.Equal(key.Fingerprint, signer);
        var policy = PolicyFile($"{fixture.Host}/ours", key.PublicPath);
        var skopeo = await SkopeoVerifyAsync(policy, image.ToString());
        Assert.True(skopeo.ExitCode == 0, skopeo.StandardError);
        Assert.Null((await CheckAsync(policy, image.ToString(), digest)).Refusal);
        // gpg itself reads the message and finds the payload.
        var decoded = await fixture.GpgAsync("--batch", "--decrypt", path);
        Assert.Contains($"\"docker-manifest-digest\":\"{digest}\"", decoded);
    }

    [Fact]
    public async Task CheckAsync_SignatureNotOpenPgp_Refused()
    {
        var digest = await SkopeoSignAsync("skopeo/garbage", fixture.Ed25519);
        File.WriteAllBytes(Path.Combine(fixture.Lookaside, $"skopeo/garbage@sha256={digest.Hex}", "signature-1"), Encoding.ASCII.GetBytes("garbage"));
        var policy = PolicyFile($"{fixture.Host}/skopeo", fixture.Ed25519.PublicPath);
        var verdict = await CheckAsync(policy, $"{fixture.Host}/skopeo/garbage:v1", digest);
        Assert.StartsWith($"signature policy {policy} (docker:{fixture.Host}/skopeo): signedBy: not an OpenPGP signed message", verdict.Refusal);
    }

    [Fact]
    public async Task CheckAsync_HttpLookaside_AcceptedByUsAndBySkopeo()
    {
        var digest = await SkopeoSignAsync("http/app", fixture.Ed25519);
        using var server = new LookasideServer(fixture.Lookaside);
        var registriesD = Directory.CreateDirectory(Path.Combine(_work, "registries.d-http")).FullName;
        File.WriteAllText(Path.Combine(registriesD, "http.yaml"), $"docker:\n  {fixture.Host}/http:\n    lookaside: {server.Url}\n");
        var policy = PolicyFile($"{fixture.Host}/http", fixture.Ed25519.PublicPath);
        using var client = new RegistryClient();

        var verdict = await new SignaturePolicyCheck(SignaturePolicy.Load(policy), RegistriesD.Load(registriesD), _http)
            .CheckAsync(client, ImageReference.Parse($"{fixture.Host}/http/app:v1"), digest, CancellationToken.None);
        var skopeo = await fixture.SkopeoAsync("--policy", policy, "--registries.d", registriesD, "copy", "--quiet", "--src-tls-verify=false",
            $"docker://{fixture.Host}/http/app:v1", $"dir:{Directory.CreateDirectory(Path.Combine(_work, "out-http")).FullName}");

        Assert.Null(verdict.Refusal);
        Assert.Contains($"/http/app@sha256={digest.Hex}/signature-1", server.Requests);
        Assert.True(skopeo.ExitCode == 0, skopeo.StandardError);
    }

    /// <summary>Serves a directory over http on loopback (a web server in front of a lookaside store); 404 for what is absent.</summary>
    private sealed class LookasideServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly string _root;
        private readonly Task _serving;

        public LookasideServer(string root)
        {
            _root = root;
            var port = FreePorts.FindPair();
            Url = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add(Url + "/");
            _listener.Start();
            _serving = Task.Run(ServeAsync);
        }

        public string Url { get; }

        public ConcurrentBag<string> Requests { get; } = [];

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                var path = Uri.UnescapeDataString(context.Request.Url!.AbsolutePath);
                Requests.Add(path);
                var file = Path.GetFullPath(Path.Combine(_root, path.TrimStart('/')));
                if (file.StartsWith(_root + "/", StringComparison.Ordinal) && File.Exists(file))
                {
                    var bytes = await File.ReadAllBytesAsync(file);
                    await context.Response.OutputStream.WriteAsync(bytes);
                }
                else
                {
                    context.Response.StatusCode = 404;
                }
                context.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _serving.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
