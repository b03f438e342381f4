using TrustLaunch.Oci.Registry;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Registry;

public sealed class ImageReferenceTests
{
    private const string Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [Theory]
    [InlineData("busybox", "docker.io", "library/busybox", "latest", null)]
    [InlineData("busybox:1.36", "docker.io", "library/busybox", "1.36", null)]
    [InlineData("user/app", "docker.io", "user/app", "latest", null)]
    [InlineData("docker.io/busybox", "docker.io", "library/busybox", "latest", null)]
    [InlineData("index.docker.io/library/busybox:x", "docker.io", "library/busybox", "x", null)]
    [InlineData("localhost/x", "localhost", "x", "latest", null)]
    [InlineData("localhost:5000/x", "localhost:5000", "x", "latest", null)]
    [InlineData("127.0.0.1:5000/a/b:t", "127.0.0.1:5000", "a/b", "t", null)]
    [InlineData("ghcr.io/org/sub/img:v1.2_3-rc", "ghcr.io", "org/sub/img", "v1.2_3-rc", null)]
    [InlineData("127.0.0.1:5000/a@sha256:" + Hex, "127.0.0.1:5000", "a", null, "sha256:" + Hex)]
    [InlineData("127.0.0.1:5000/a:t@sha256:" + Hex, "127.0.0.1:5000", "a", "t", "sha256:" + Hex)]
    [InlineData("my-registry.local/a__b/c.d-e", "my-registry.local", "a__b/c.d-e", "latest", null)]
    public void Parse_Valid_AppliesDockerDefaults(string text, string registry, string repository, string? tag, string? digest)
    {
        var reference = ImageReference.Parse(text);
        Assert.Equal(registry, reference.Registry);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(digest, reference.Digest?.ToString());
        Assert.Equal(reference, ImageReference.Parse(reference.ToString()));
    }

    [Theory]
    [InlineData("", "image reference is empty")]
    [InlineData(" busybox", "image reference ' busybox' has leading or trailing whitespace")]
    [InlineData("Busybox", "image reference 'Busybox': repository name 'library/Busybox' must be lowercase")]
    [InlineData("busybox:", "image reference 'busybox:': '' is not a valid tag (expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})")]
    [InlineData("busybox:-x", "image reference 'busybox:-x': '-x' is not a valid tag (expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})")]
    [InlineData("a//b", "image reference 'a//b': '' is not a valid repository path component (lowercase letters, digits and single separators . _ __ -)")]
    [InlineData("localhost:5000/", "image reference 'localhost:5000/' has no repository name")]
    [InlineData("a/b@sha256:abc", "image reference 'a/b@sha256:abc': digest 'sha256:abc': expected 64 lowercase hex digits")]
    [InlineData("bad_host:5000/a", "image reference 'bad_host:5000/a': 'bad_host:5000' is not a valid registry host[:port]")]
    [InlineData("a/-b", "image reference 'a/-b': '-b' is not a valid repository path component (lowercase letters, digits and single separators . _ __ -)")]
    public void Parse_Malformed_ClearMessage(string text, string message) =>
        Assert.Equal(message, Assert.Throws<FormatException>(() => ImageReference.Parse(text)).Message);

    [Fact]
    public void ApiHost_DockerHub_IsRegistry1()
    {
        Assert.Equal("registry-1.docker.io", ImageReference.Parse("busybox").ApiHost);
        Assert.Equal("docker.io/library/busybox:latest", ImageReference.Parse("busybox").ToString());
    }

    [Theory]
    [InlineData("127.0.0.1:5000/a", "http://127.0.0.1:5000/v2/")]
    [InlineData("localhost:5000/a", "http://localhost:5000/v2/")]
    [InlineData("[::1]:5000/a", "http://[::1]:5000/v2/")]
    [InlineData("ghcr.io/a", "https://ghcr.io/v2/")]
    [InlineData("insecure.example:5000/a", "http://insecure.example:5000/v2/")]
    public void BaseUri_PlainHttpOnlyForLoopbackOrInsecure(string reference, string expected)
    {
        using var client = new RegistryClient(new RegistryClientOptions { InsecureRegistries = ["insecure.example:5000"] });
        Assert.Equal(expected, client.BaseUri(ImageReference.Parse(reference)).ToString());
    }

    [Fact]
    public void ParseChallenge_QuotedScopeWithComma()
    {
        var parameters = RegistryClient.ParseChallenge("realm=\"http://127.0.0.1:1/token\",service=\"reg\",scope=\"repository:a/b:pull,push\"");
        Assert.Equal("http://127.0.0.1:1/token", parameters["realm"]);
        Assert.Equal("reg", parameters["service"]);
        Assert.Equal("repository:a/b:pull,push", parameters["scope"]);
    }

    [Theory]
    [InlineData("linux/amd64", "linux", "amd64", null)]
    [InlineData("linux/arm64/v8", "linux", "arm64", "v8")]
    public void Platform_Parse(string text, string os, string arch, string? variant) =>
        Assert.Equal(new Platform(os, arch, variant), Platform.Parse(text));

    [Fact]
    public void Platform_Malformed_Refused() =>
        Assert.Equal("'linux' is not a platform: expected os/arch[/variant], e.g. linux/arm64/v8",
            Assert.Throws<FormatException>(() => Platform.Parse("linux")).Message);

    /// <summary>The default platform is the machine's (as <c>uname -m</c> names it), so an index never hands an arm64
    /// node the amd64 image.</summary>
    [Fact]
    public async Task Platform_Default_IsTheHostsArchitecture()
    {
        var machine = (await ProcessRunner.RunAsync("uname", ["-m"])).EnsureSuccess("uname -m").StandardOutput.Trim();
        var expected = machine switch { "x86_64" => "amd64", "aarch64" => "arm64", _ => machine };

        Assert.Equal(new Platform("linux", expected), Platform.Default);
    }
}
