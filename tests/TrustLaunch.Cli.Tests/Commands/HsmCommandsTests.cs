using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary><c>trustlaunch hsm …</c> in-process against a real SoftHSM token (PIN from a file: the environment is
/// shared by parallel test classes).</summary>
public sealed class HsmCommandsTests(SoftHsmFixture hsm) : IClassFixture<SoftHsmFixture>, IDisposable
{
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string PinFile(string pin = SoftHsmFixture.UserPinText)
    {
        var path = _dir[$"pin-{Guid.NewGuid():n}"];
        File.WriteAllText(path, pin + "\n");
        return path;
    }

    private Task<CliResult> Hsm(params string[] args) =>
        CliHarness.RunAsync(["hsm", "--token", hsm.TokenLabel, "--pin-file", PinFile(), .. args]);

    private static string NewLabel(string prefix) => $"{prefix}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    [Fact]
    public async Task Info_ListsModuleAndToken()
    {
        var r = (await CliHarness.RunAsync("hsm", "info", "--json")).EnsureSuccess();
        Assert.Equal("/usr/lib/softhsm/libsofthsm2.so", r.Json.GetProperty("module").GetString());
        Assert.Equal("SoftHSM", r.Json.GetProperty("manufacturer").GetString());
        Assert.Contains(hsm.TokenLabel, r.Json.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task KeygenSignVerify_EcP256_RoundTripAndTamperFails()
    {
        var label = NewLabel("cli-ec");
        var gen = (await Hsm("keygen", "--type", "ec:p256", "--label", label, "--json")).EnsureSuccess();
        Assert.Equal($"pkcs11:token={hsm.TokenLabel};object={label};type=private", gen.Json.GetProperty("uri").GetString());
        Assert.False(gen.Json.GetProperty("extractable").GetBoolean());
        var data = _dir["data"];
        await File.WriteAllTextAsync(data, "golden");
        var key = $"pkcs11:token={hsm.TokenLabel};object={label}";
        (await Hsm("sign", "--key", key, "--alg", "ES256", "--in", data, "--out", _dir["sig"])).EnsureSuccess();
        Assert.Equal(64, new FileInfo(_dir["sig"]).Length);
        var ok = await Hsm("verify", "--key", key, "--alg", "ES256", "--in", data, "--signature", _dir["sig"]);
        Assert.Equal((0, "valid\n"), (ok.ExitCode, ok.Stdout));

        (await Hsm("sign", "--key", key, "--alg", "ES256", "--format", "der", "--in", data, "--out", _dir["sig.der"])).EnsureSuccess();
        Assert.Equal(0x30, File.ReadAllBytes(_dir["sig.der"])[0]);
        Assert.Equal(0, (await Hsm("verify", "--key", key, "--alg", "ES256", "--in", data, "--signature", _dir["sig.der"])).ExitCode);

        await File.WriteAllTextAsync(data, "tampered");
        var bad = await Hsm("verify", "--key", key, "--alg", "ES256", "--in", data, "--signature", _dir["sig"]);
        Assert.Equal((1, "signature invalid\n"), (bad.ExitCode, bad.Stdout));
    }

    [Fact]
    public async Task Export_PemAndJwk_MatchAndVerifyOutsideTheHsm()
    {
        var label = NewLabel("cli-rsa");
        var gen = (await Hsm("keygen", "--type", "rsa:2048", "--label", label, "--json")).EnsureSuccess();
        var pem = (await Hsm("export", "--key", label)).EnsureSuccess().Stdout;
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", pem);
        Assert.Equal(gen.Json.GetProperty("public_key_pem").GetString(), pem);
        var jwk = (await Hsm("export", "--key", label, "--format", "jwk", "--json")).EnsureSuccess();
        Assert.Equal(gen.Json.GetProperty("key_id").GetString(), jwk.Json.GetProperty("key_id").GetString());

        var data = _dir["data"];
        await File.WriteAllTextAsync(data, "x");
        (await Hsm("sign", "--key", label, "--alg", "RS256", "--in", data, "--out", _dir["sig"])).EnsureSuccess();
        using var rsa = RSA.Create();
        rsa.ImportFromPem(pem);
        Assert.True(rsa.VerifyData(File.ReadAllBytes(data), File.ReadAllBytes(_dir["sig"]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    [Fact]
    public async Task Export_ToFile_PrintsTheKidAPolicyFilesTheKeyUnder()
    {
        var label = NewLabel("cli-kid");
        (await Hsm("keygen", "--type", "ec:p256", "--label", label)).EnsureSuccess();

        var r = (await Hsm("export", "--key", label, "--out", _dir["pub.pem"])).EnsureSuccess();

        using var ec = ECDsa.Create();
        ec.ImportFromPem(await File.ReadAllTextAsync(_dir["pub.pem"]));
        var q = ec.ExportParameters(false).Q;
        // RFC 7638: SHA-256 of the required members in lexicographic order, base64url.
        var jwk = $$"""{"crv":"P-256","kty":"EC","x":"{{Base64Url.EncodeToString(q.X)}}","y":"{{Base64Url.EncodeToString(q.Y)}}"}""";
        var kid = Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(jwk)));
        Assert.Equal($"wrote pem public key (kid {kid}) to {_dir["pub.pem"]}\n", r.Stdout);
    }

    [Fact]
    public async Task Export_PrivateNonExtractable_RefusedExitOne()
    {
        var label = NewLabel("cli-nx");
        (await Hsm("keygen", "--type", "ec:p256", "--label", label)).EnsureSuccess();
        var r = await Hsm("export", "--key", $"pkcs11:object={label};type=private", "--private");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: C_GetAttributeValue failed: CKR_KEY_UNEXTRACTABLE: private key '{label}' (EC P-256) is non-extractable (CKA_EXTRACTABLE false): it cannot leave the HSM; export its public key instead\n", r.Stderr);
    }

    [Fact]
    public async Task Keys_ListsGeneratedKeysAsUris()
    {
        var label = NewLabel("cli-list");
        (await Hsm("keygen", "--type", "aes:256", "--label", label)).EnsureSuccess();
        var r = (await Hsm("keys", "--json")).EnsureSuccess();
        Assert.True(r.Json.GetProperty("logged_in").GetBoolean());
        var key = Assert.Single(r.Json.GetProperty("keys").EnumerateArray(), k => k.GetProperty("label").GetString() == label);
        Assert.Equal($"pkcs11:token={hsm.TokenLabel};object={label};type=secret-key", key.GetProperty("uri").GetString());
        Assert.Equal(256, key.GetProperty("bits").GetInt32());
        Assert.False(key.GetProperty("extractable").GetBoolean());
    }

    [Fact]
    public async Task EncryptDecryptWrapUnwrapDeleteRandom_Work()
    {
        var kek = NewLabel("cli-kek");
        var dek = NewLabel("cli-dek");
        (await Hsm("keygen", "--type", "aes:256", "--label", kek)).EnsureSuccess();
        (await Hsm("keygen", "--type", "aes:128", "--label", dek, "--extractable", "--usage", "encrypt")).EnsureSuccess();
        await File.WriteAllTextAsync(_dir["plain"], "secret data");
        (await Hsm("encrypt", "--key", dek, "--in", _dir["plain"], "--out", _dir["ct"])).EnsureSuccess();
        (await Hsm("wrap", "--wrapping-key", kek, "--key", dek, "--out", _dir["wrapped"])).EnsureSuccess();
        var copy = NewLabel("cli-copy");
        (await Hsm("unwrap", "--unwrapping-key", kek, "--in", _dir["wrapped"], "--type", "aes:128", "--label", copy, "--usage", "encrypt")).EnsureSuccess();
        var plain = (await Hsm("decrypt", "--key", copy, "--in", _dir["ct"], "--json")).EnsureSuccess();
        Assert.Equal(Convert.ToHexStringLower(Encoding.UTF8.GetBytes("secret data")), plain.Json.GetProperty("data").GetString());
        Assert.Equal("deleted 1 object(s) matching pkcs11:token=" + hsm.TokenLabel + ";object=" + copy + "\n", (await Hsm("delete", "--key", copy)).EnsureSuccess().Stdout);
        Assert.Matches("^[0-9a-f]{32}\n$", (await Hsm("random", "16")).EnsureSuccess().Stdout);
    }

    [Fact]
    public async Task Encrypt_WrapOnlyKey_ExitOneNamingTheUsage()
    {
        var kek = NewLabel("cli-wraponly");
        (await Hsm("keygen", "--type", "aes:256", "--label", kek, "--usage", "wrap")).EnsureSuccess();
        await File.WriteAllTextAsync(_dir["plain"], "secret data");

        var r = await Hsm("encrypt", "--key", kek, "--in", _dir["plain"]);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: C_EncryptInit failed: CKR_KEY_FUNCTION_NOT_PERMITTED: secret-key key '{kek}' (AES-256) may not encrypt: " +
            "its usage allows wrap/unwrap only; use a key made with --usage encrypt\n", r.Stderr);
    }

    [Fact]
    public async Task Keygen_EcKeyToEncrypt_ExitTwo()
    {
        var r = await Hsm("keygen", "--type", "ec:p256", "--label", NewLabel("cli-ecenc"), "--usage", "encrypt");
        Assert.Equal((2, "error: an EC key can only sign, not encrypt\n"), (r.ExitCode, r.Stderr));
    }

    [Fact]
    public async Task Sign_UriWithPinValue_PinAbsentFromTheError()
    {
        const string Pin = "731946-pin";
        var r = await Hsm("sign", "--key", $"pkcs11:token={hsm.TokenLabel};object=k?pin-value={Pin}", "--alg", "ES256", "--in", "/dev/null");

        Assert.Equal(2, r.ExitCode);
        Assert.DoesNotContain(Pin, r.Stderr + r.Stdout);
        Assert.Equal($"error: PKCS#11 URI 'pkcs11:token={hsm.TokenLabel};object=k?pin-value=REDACTED': pin-value is refused " +
            "(a PIN in a URI ends up in logs and shell history); use pin-source or TRUSTLAUNCH_HSM_PIN\n", r.Stderr);
    }

    [Fact]
    public async Task Sign_UriWithPinSourceForAbsentKey_PinSourceAbsentFromTheError()
    {
        var pinFile = PinFile();
        var r = await Hsm("sign", "--key", $"pkcs11:token={hsm.TokenLabel};object=absent;type=private?pin-source=file:{pinFile}", "--alg", "ES256", "--in", "/dev/null");

        Assert.Equal(1, r.ExitCode);
        Assert.DoesNotContain(pinFile, r.Stderr + r.Stdout);
        Assert.Equal($"error: C_FindObjects failed: key not found: no private key matches pkcs11:token={hsm.TokenLabel};object=absent;type=private?pin-source=REDACTED " +
            $"on token '{hsm.TokenLabel}' (logged in? private keys are only visible after login)\n", r.Stderr);
    }

    [Fact]
    public async Task Sign_WrongPin_ExitOneWithCkrExplanation()
    {
        var r = await CliHarness.RunAsync("hsm", "--token", hsm.TokenLabel, "--pin-file", PinFile("0000-wrong"), "keys");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("error: C_Login failed: CKR_PIN_INCORRECT: wrong PIN (check TRUSTLAUNCH_HSM_PIN or the PIN file; repeated failures lock the token)\n", r.Stderr);
    }

    [Fact]
    public async Task Info_MissingModule_ExitOneNamesPathAndPackage()
    {
        var r = await CliHarness.RunAsync("hsm", "info", "--module", "/nonexistent/libpkcs11.so");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("error: module failed: not found: no PKCS#11 module at /nonexistent/libpkcs11.so; install SoftHSM2 with `apt-get install softhsm2` or pass --module PATH (or set TRUSTLAUNCH_HSM_MODULE)\n", r.Stderr);
    }

    [Fact]
    public async Task Sign_RsaAlgorithmOnEcKey_ExitOneWrongKeyType()
    {
        var label = NewLabel("cli-wt");
        (await Hsm("keygen", "--type", "ec:p256", "--label", label)).EnsureSuccess();
        await File.WriteAllTextAsync(_dir["d"], "x");
        var r = await Hsm("sign", "--key", label, "--alg", "RS256", "--in", _dir["d"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: C_SignInit failed: CKR_KEY_TYPE_INCONSISTENT: private key '{label}' (EC P-256) cannot make RS256 signatures; RS256 needs an RSA key\n", r.Stderr);
    }

    [Fact]
    public async Task Sign_MalformedUri_ExitTwo()
    {
        var r = await Hsm("sign", "--key", "pkcs11:object=a;colour=red", "--alg", "ES256", "--in", "/dev/null");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("error: PKCS#11 URI 'pkcs11:object=a;colour=red': unknown path attribute 'colour' (known: token, object, type, id, manufacturer, model, serial)\n", r.Stderr);
    }

    [Fact]
    public async Task Keys_NoPinAnywhere_ListsPublicOnly()
    {
        var r = (await CliHarness.RunAsync("hsm", "--token", hsm.TokenLabel, "keys", "--json")).EnsureSuccess();
        Assert.False(r.Json.GetProperty("logged_in").GetBoolean());
        Assert.DoesNotContain(r.Json.GetProperty("keys").EnumerateArray(), k => k.GetProperty("class").GetString() is "private" or "secret-key");
    }
}
