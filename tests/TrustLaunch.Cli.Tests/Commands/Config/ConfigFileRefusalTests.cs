namespace TrustLaunch.Cli.Tests.Commands.Config;

/// <summary>
/// What a <c>serve ROLE</c> settings file may not hold, each refused before anything starts with a message naming
/// the file, the line and the key: unknown keys, wrong types, duplicates, inline secrets, and a missing --config file.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ConfigFileRefusalTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private async Task<(int, string)> ServeWithAsync(string role, string yaml, params string[] more)
    {
        var file = _scratch[role + ".yaml"];
        await File.WriteAllTextAsync(file, yaml);
        var result = await CliHarness.RunAsync(["serve", role, "--config", file, "--tls-dir", _scratch["none"], .. more]);
        return (result.ExitCode, result.Stderr.Replace(file, "FILE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_UnknownKey_RefusedNamingFileLineAndKey()
    {
        Assert.Equal((2, "error: FILE:3: unknown key 'listne' for serve registrar\n"),
            await ServeWithAsync("registrar", "# registrar\nrequire-ek-cert: false\nlistne: 127.0.0.1:1\n"));
    }

    [Theory]
    [InlineData("registrar", "require-ek-cert: yes\n", "error: FILE:1: key 'require-ek-cert' must be true or false, not 'yes'\n")]
    [InlineData("registrar", "require-ek-cert: \"false\"\n", "error: FILE:1: key 'require-ek-cert' must be true or false, not 'false'\n")]
    [InlineData("verifier", "max-concurrency: many\n", "error: FILE:1: key 'max-concurrency' must be an integer, not 'many'\n")]
    [InlineData("verifier", "quote-interval: 2s\n", "error: FILE:1: key 'quote-interval' must be a number, not '2s'\n")]
    [InlineData("registrar", "ek-ca: /etc/ek.pem\n", "error: FILE:1: key 'ek-ca' must be a list (a YAML sequence)\n")]
    [InlineData("registrar", "listen:\n  - 127.0.0.1:1\n", "error: FILE:1: key 'listen' takes one value, not a list\n")]
    [InlineData("registrar", "listen:\n  port: 1\n", "error: FILE:2: key 'listen' must be a value or a list of values, not a mapping or an alias\n")]
    [InlineData("registrar", "listen:\n", "error: FILE:1: key 'listen' has no value\n")]
    [InlineData("registrar", "- listen\n", "error: FILE:1: must be a mapping of keys to values\n")]
    [InlineData("registrar", "listen: &a 127.0.0.1:1\n", "error: FILE:1: anchors, aliases and tags are not allowed\n")]
    public async Task Serve_WrongType_RefusedNamingFileLineAndKey(string role, string yaml, string expected)
    {
        Assert.Equal((2, expected), await ServeWithAsync(role, yaml));
    }

    [Fact]
    public async Task Serve_DuplicateKey_RefusedNamingBothLines()
    {
        Assert.Equal((2, "error: FILE:4: duplicate key 'listen' (first at line 2)\n"),
            await ServeWithAsync("registrar", "require-ek-cert: false\nlisten: 127.0.0.1:1\n\nlisten: 127.0.0.1:2\n"));
    }

    [Fact]
    public async Task Serve_NotYaml_RefusedNamingTheLine()
    {
        var (code, stderr) = await ServeWithAsync("registrar", "listen: 127.0.0.1:1\n  bad: [\n");

        Assert.Equal(2, code);
        Assert.StartsWith("error: FILE:2: not valid YAML: ", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("registrar", "store: postgres://tl:hunter2@db/trustlaunch\n",
        "error: FILE:1: key 'store' carries the PostgreSQL password inline: give it by file reference (store-password-file)\n")]
    [InlineData("verifier", "store: host=db dbname=tl user=tl password=hunter2\n",
        "error: FILE:1: key 'store' carries the PostgreSQL password inline: give it by file reference (store-password-file)\n")]
    [InlineData("kbs", "wrap-key: pkcs11:token=tl;object=wrap?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=hunter2\n",
        "error: FILE:1: key 'wrap-key' carries a PIN inline (pin-value): name a file with pin-source=FILE\n")]
    [InlineData("kbs", "signing-key: \"-----BEGIN PRIVATE KEY-----\\nhunter2\"\n",
        "error: FILE:1: key 'signing-key' carries key material inline: name a PEM file\n")]
    [InlineData("kbs", "hsm-pin: hunter2\n",
        "error: FILE:1: key 'hsm-pin' would carry a secret inline: secrets are given by file reference only (pkcs11: URIs with pin-source=FILE, store-password-file)\n")]
    [InlineData("registrar", "store-password: hunter2\n",
        "error: FILE:1: key 'store-password' would carry a secret inline: secrets are given by file reference only (pkcs11: URIs with pin-source=FILE, store-password-file)\n")]
    public async Task Serve_SecretInline_RefusedWithoutEchoingIt(string role, string yaml, string expected)
    {
        var (code, stderr) = await ServeWithAsync(role, yaml);

        Assert.Equal((2, expected), (code, stderr));
        Assert.DoesNotContain("hunter2", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_ConfigFileMissing_Refused()
    {
        var missing = _scratch["absent.yaml"];

        var result = await CliHarness.RunAsync("serve", "agent", "--config", missing);

        Assert.Equal((2, $"error: --config {missing}: no such file\n"), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task Serve_ConfigFileWritableByOthers_Refused()
    {
        var file = _scratch["registrar.yaml"];
        await File.WriteAllTextAsync(file, "require-ek-cert: false\n");
        File.SetUnixFileMode(file, (UnixFileMode)0x1B6);

        var result = await CliHarness.RunAsync("serve", "registrar", "--config", file);

        Assert.Equal((2, $"error: {file}: writable by group or others (chmod go-w): it decides what the service trusts\n"), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task Serve_ValueFromFileFailsTheFlagsCheck_RefusedAsTheFlagWouldBe()
    {
        Assert.Equal((2, "error: --listen: invalid listen address 'nowhere': expected IP:PORT (e.g. 127.0.0.1:8890 or [::1]:8890) with a non-zero port\n"),
            await ServeWithAsync("registrar", "require-ek-cert: false\nlisten: nowhere\n"));
    }
}
