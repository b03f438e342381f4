using TrustLaunch.Agent.Cri;

namespace TrustLaunch.Agent.Tests.Cri;

public sealed class CriSettingsTests
{
    [Fact]
    public void Validate_LocalModeWithUnixSockets_Usable()
    {
        var settings = new CriSettings("unix:///run/trustlaunch/cri.sock", "unix:///run/containerd/containerd.sock", "/etc/trustlaunch/trusted", null, null, ["docker.io=127.0.0.1:5000"]);

        Assert.Empty(settings.Validate());
        Assert.Equal("/run/trustlaunch/cri.sock", CriOptions.SocketPath(settings.Listen, "--cri-listen"));
        Assert.Equal("127.0.0.1:5000", CriOptions.ParseMirrors(settings.Mirrors)["docker.io"]);
    }

    [Fact]
    public void Validate_EveryProblemNamed()
    {
        var settings = new CriSettings("tcp://0.0.0.0:1", "", "/keys", null, "http://verifier", ["docker.io", "quay.io=a/b"]);

        Assert.Equal(
        [
            "--cri-listen 'tcp://0.0.0.0:1' is not unix:///ABSOLUTE/PATH",
            "--cri-backend '' is not unix:///ABSOLUTE/PATH",
            "the CRI endpoint judges images either locally (--cri-trust KEYS) or by the verifier (--cri-verifier URL): give exactly one",
            "CRI verifier 'http://verifier' is not an https:// URL",
            "registry mirror 'docker.io' is not REGISTRY=HOST[:PORT]",
        ], settings.Validate());
    }

    [Fact]
    public void Validate_NeitherTrustNorVerifier_Refused()
    {
        var settings = new CriSettings("unix:///a.sock", "unix:///b.sock", null, "/policy.json", null, []);

        Assert.Equal(
        [
            "the CRI endpoint judges images either locally (--cri-trust KEYS) or by the verifier (--cri-verifier URL): give exactly one",
            "--cri-trust-policy needs --cri-trust (local mode)",
        ], settings.Validate());
    }
}
