using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Registry;

public sealed class BasicAuthImagesFixture : RegistryFixture
{
    public BasicAuthImagesFixture() : base(RegistryAuthMode.Basic)
    {
    }

    public PushedImage Image { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Image = await TestImages.BuildAndPushAsync(this, "test/busybox", "v1");
    }
}

public sealed class BearerAuthImagesFixture : RegistryFixture
{
    public BearerAuthImagesFixture() : base(RegistryAuthMode.Bearer)
    {
    }

    public PushedImage Image { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Image = await TestImages.BuildAndPushAsync(this, "test/busybox", "v1");
    }
}

internal static class Clients
{
    public static RegistryClient For(RegistryFixture registry, string? password = RegistryFixture.Password) => new(new RegistryClientOptions
    {
        Credentials = password is null
            ? new Dictionary<string, RegistryCredentials>()
            : new Dictionary<string, RegistryCredentials> { [registry.Host] = new(RegistryFixture.Username, password) },
    });
}

public sealed class BasicAuthTests(BasicAuthImagesFixture registry) : IClassFixture<BasicAuthImagesFixture>
{
    [Fact]
    public async Task GetManifestAsync_RightPassword_Succeeds()
    {
        using var client = Clients.For(registry);
        var manifest = await client.GetManifestAsync(ImageReference.Parse(registry.Image.Reference));
        Assert.Equal(registry.Image.ManifestDigest, manifest.Digest.ToString());
    }

    [Fact]
    public async Task GetManifestAsync_WrongPassword_Unauthorized()
    {
        using var client = Clients.For(registry, "wrong password");
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(ImageReference.Parse(registry.Image.Reference)));
        Assert.Equal($"manifest {registry.Image.Reference}: 401 Unauthorized: UNAUTHORIZED: authentication required", e.Message);
    }

    [Fact]
    public async Task GetManifestAsync_NoCredentials_Unauthorized()
    {
        using var client = Clients.For(registry, password: null);
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(ImageReference.Parse(registry.Image.Reference)));
        Assert.Equal($"manifest {registry.Image.Reference}: 401 Unauthorized: UNAUTHORIZED: authentication required", e.Message);
    }
}

public sealed class BearerAuthTests(BearerAuthImagesFixture registry) : IClassFixture<BearerAuthImagesFixture>
{
    [Fact]
    public async Task PullAndPush_TokensFetchedOncePerScope()
    {
        using var client = Clients.For(registry);
        var reference = ImageReference.Parse(registry.Image.Reference);
        var before = registry.Tokens!.IssuedScopes.Count;
        var manifest = await client.GetManifestAsync(reference);
        var layer = manifest.ParseManifest().Layers[0];
        await using (var blob = await client.OpenBlobAsync(reference, layer.Digest, layer.Size))
            await blob.CopyToAsync(Stream.Null);
        Assert.Equal(registry.Image.ManifestDigest, (await client.ResolveAsync(reference)).ToString());
        Assert.Equal(["repository:test/busybox:pull"], registry.Tokens.IssuedScopes.Skip(before).ToArray());

        var pushed = await client.PushManifestAsync(reference.WithTag("copy"), manifest.Bytes, manifest.MediaType);
        Assert.Equal(manifest.Digest, pushed);
        // distribution 2.8 names the actions of its push challenge in either order (pull,push or push,pull).
        Assert.Contains(registry.Tokens.IssuedScopes.Skip(before), s => s is "repository:test/busybox:pull,push" or "repository:test/busybox:push,pull");
    }

    [Fact]
    public async Task GetManifestAsync_WrongPassword_TokenServerRefusal()
    {
        using var client = Clients.For(registry, "wrong password");
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(ImageReference.Parse(registry.Image.Reference)));
        Assert.Equal($"token from {registry.Tokens!.Realm} for scope repository:test/busybox:pull: 401 Unauthorized: UNAUTHORIZED: invalid username or password", e.Message);
    }
}
