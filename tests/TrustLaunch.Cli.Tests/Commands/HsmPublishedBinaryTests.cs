using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// The Native AOT executable (what scripts/publish-cli installs) against SoftHSM, directly and through pkcs11-spy:
/// Pkcs11Interop marshals with Type-based Marshal APIs, so this is what proves TrustLaunch.Hsm's Pkcs11InteropAot
/// gave ILC every structure and delegate it needs.
/// </summary>
[Trait("Category", "Slow")]
public sealed class HsmPublishedBinaryTests(SoftHsmFixture hsm) : IClassFixture<SoftHsmFixture>, IDisposable
{
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<ProcessResult> RunAsync(string binary, Dictionary<string, string>? env, params string[] args)
    {
        var environment = new Dictionary<string, string>(hsm.Environment) { ["TRUSTLAUNCH_HSM_PIN"] = SoftHsmFixture.UserPinText };
        foreach (var (k, v) in env ?? [])
            environment[k] = v;
        return await ProcessRunner.RunAsync(binary, args, environment);
    }

    [Fact]
    public async Task PublishedBinary_InfoKeygenSignVerifyExportAndSpy_Work()
    {
        var bin = await PublishedCli.PathAsync();
        var info = (await RunAsync(bin, null, "hsm", "info")).EnsureSuccess("hsm info");
        Assert.Contains("manufacturer:  SoftHSM", info.StandardOutput);
        Assert.Contains(hsm.TokenLabel, info.StandardOutput);

        var key = $"pkcs11:token={hsm.TokenLabel};object=aot-signer";
        (await RunAsync(bin, null, "hsm", "keygen", "--type", "ec:p256", "--label", "aot-signer", "--token", hsm.TokenLabel)).EnsureSuccess("keygen");
        await File.WriteAllTextAsync(_dir["data"], "native");
        (await RunAsync(bin, null, "hsm", "sign", "--key", key, "--alg", "ES256", "--in", _dir["data"], "--out", _dir["sig"])).EnsureSuccess("sign");
        var verify = (await RunAsync(bin, null, "hsm", "verify", "--key", key, "--alg", "ES256", "--in", _dir["data"], "--signature", _dir["sig"])).EnsureSuccess("verify");
        Assert.Equal("valid\n", verify.StandardOutput);
        var pem = (await RunAsync(bin, null, "hsm", "export", "--key", key)).EnsureSuccess("export");
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", pem.StandardOutput);

        var log = _dir["spy.log"];
        (await RunAsync(bin, null, "hsm", "--spy", log, "keys", "--token", hsm.TokenLabel)).EnsureSuccess("keys via spy");
        var text = await File.ReadAllTextAsync(log);
        Assert.Contains("C_Login", text);
        Assert.Contains(SoftHsmFixture.UserPinText, text); // the spy's own log: why analyze redacts
        var events = (await RunAsync(bin, null, "hsm", "analyze", "--log", log, "--format", "events")).EnsureSuccess("analyze");
        Assert.Contains("pPin[ulPinLen] REDACTED", events.StandardOutput);
        Assert.DoesNotContain(SoftHsmFixture.UserPinText, events.StandardOutput);

        var wrong = await RunAsync(bin, new() { ["TRUSTLAUNCH_HSM_PIN"] = "0000-wrong" }, "hsm", "keys", "--token", hsm.TokenLabel);
        Assert.Equal(1, wrong.ExitCode);
        Assert.StartsWith("error: C_Login failed: CKR_PIN_INCORRECT: wrong PIN", wrong.StandardError);
    }
}
