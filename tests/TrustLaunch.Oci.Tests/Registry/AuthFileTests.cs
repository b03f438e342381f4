using System.Text;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Registry;

/// <summary>Credentials from podman's auth.json and docker's config.json, against a registry with htpasswd auth.</summary>
[Trait("Category", "Slow")]
public sealed class AuthFileTests(BasicAuthImagesFixture registry) : IClassFixture<BasicAuthImagesFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-auth-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string Auth(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    private static string AuthJson(string key, string auth) => $$"""{"auths":{"{{key}}":{"auth":"{{auth}}"} } }""";

    private string Write(string name, string json)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, json);
        return path;
    }

    private async Task<string> ManifestDigestWithAsync(RegistryAuthFiles files)
    {
        using var client = new RegistryClient(new RegistryClientOptions { AuthFiles = files });
        return (await client.GetManifestAsync(ImageReference.Parse(registry.Image.Reference))).Digest.ToString();
    }

    [Fact]
    public async Task GetManifestAsync_PodmanAuthJsonHostKey_Authenticates()
    {
        var file = Write("auth.json", AuthJson(registry.Host, Auth(RegistryFixture.Username, RegistryFixture.Password)));
        Assert.Equal(registry.Image.ManifestDigest, await ManifestDigestWithAsync(RegistryAuthFiles.Load(file)));
    }

    [Fact]
    public async Task GetManifestAsync_DockerConfigRepositoryKey_MostSpecificWins()
    {
        // The host key is wrong; the repository key (more specific) is right and must be the one used.
        var file = Write("config.json", $$$"""
            {"auths":{
              "{{{registry.Host}}}":{"auth":"{{{Auth(RegistryFixture.Username, "wrong")}}}"},
              "{{{registry.Host}}}/test":{"auth":"{{{Auth(RegistryFixture.Username, RegistryFixture.Password)}}}"},
              "{{{registry.Host}}}/other":{"auth":"{{{Auth("nobody", "nothing")}}}"}
            },"credsStore":"desktop"}
            """);
        Assert.Equal(registry.Image.ManifestDigest, await ManifestDigestWithAsync(RegistryAuthFiles.Load(file)));
    }

    [Fact]
    public async Task GetManifestAsync_LegacyUrlKey_MatchesByHost()
    {
        var file = Write("config.json", AuthJson($"http://{registry.Host}/v1/", Auth(RegistryFixture.Username, RegistryFixture.Password)));
        Assert.Equal(registry.Image.ManifestDigest, await ManifestDigestWithAsync(RegistryAuthFiles.Load(file)));
    }

    [Fact]
    public async Task GetManifestAsync_WrongPasswordInAuthFile_Unauthorized()
    {
        var file = Write("auth.json", AuthJson(registry.Host, Auth(RegistryFixture.Username, "wrong")));
        var e = await Assert.ThrowsAsync<RegistryException>(() => ManifestDigestWithAsync(RegistryAuthFiles.Load(file)));
        Assert.Equal($"manifest {registry.Image.Reference}: 401 Unauthorized: UNAUTHORIZED: authentication required", e.Message);
    }

    [Fact]
    public void Load_AuthNotUserColonPassword_RefusedWithoutTheSecret()
    {
        var file = Write("auth.json", AuthJson("example.com", Convert.ToBase64String("secretwithoutcolon"u8)));
        var e = Assert.Throws<FormatException>(() => RegistryAuthFiles.Load(file));
        Assert.Equal($"auth file {file}: auths.\"example.com\".auth is not base64 of user:password", e.Message);
    }

    [Fact]
    public void Load_ExplicitFileMissing_Refused()
    {
        var missing = Path.Combine(_directory, "absent.json");
        Assert.Equal($"auth file {missing} does not exist", Assert.Throws<FileNotFoundException>(() => RegistryAuthFiles.Load(missing)).Message);
    }

    [Fact]
    public void SearchPath_ExplicitFile_OnlyThatFile()
    {
        Assert.Equal(["/x/auth.json"], RegistryAuthFiles.SearchPath("/x/auth.json"));
    }

    [Fact]
    public void Find_FirstFileWithAMatchDecides()
    {
        var first = RegistryAuthFiles.FromJson(Encoding.UTF8.GetBytes(AuthJson("index.docker.io", Auth("hub", "p"))));
        Assert.Equal("hub", first.Find(ImageReference.Parse("busybox"))!.Username);
        Assert.Null(first.Find(ImageReference.Parse("quay.io/x/y")));
    }
}
