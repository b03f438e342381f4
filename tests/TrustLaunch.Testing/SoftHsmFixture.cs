using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Hsm;
using Xunit;

namespace TrustLaunch.Testing;

/// <summary>
/// A SoftHSM2 token for one test class. SoftHSM reads <c>SOFTHSM2_CONF</c> once, at C_Initialize, and a module is
/// initialised once per process, so every class of a test process shares one private config and token directory
/// (<see cref="ConfigPath"/>, set in the C environment before the first load) and each class gets its own token,
/// made by <c>softhsm2-util --init-token --free</c> (or, once this process has loaded SoftHSM, which scans for tokens
/// only at C_Initialize, by C_InitToken/C_InitPin on the free slot) and found by its unique label — parallel classes never share a
/// token or touch the machine's /etc/softhsm.
/// </summary>
public sealed class SoftHsmFixture : IAsyncLifetime
{
    private static readonly Lazy<(string Directory, string Config)> Shared = new(CreateShared, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly SemaphoreSlim InitLock = new(1, 1);

    public const string UserPinText = "1234-user";
    public const string SoPinText = "5678-so";

    public string ModulePath => HsmModule.DefaultModulePath;
    public string ConfigPath => Shared.Value.Config;
    public string Directory => Shared.Value.Directory;
    public string TokenLabel { get; } = "tl-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
    public static byte[] UserPin => Encoding.UTF8.GetBytes(UserPinText);
    public static byte[] SoPin => Encoding.UTF8.GetBytes(SoPinText);

    /// <summary>The environment a child process (softhsm2-util, pkcs11-tool, trustlaunch) needs to see the tokens.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["SOFTHSM2_CONF"] = ConfigPath };

    public HsmModule Module => HsmModule.Load(ModulePath);

    public async Task InitializeAsync()
    {
        _ = Shared.Value;
        // Under one lock: either SoftHSM is already initialised in this process (then a token softhsm2-util made now
        // would stay invisible: SoftHSM scans its token directory only at C_Initialize, so initialise the free slot
        // through the loaded module), or make the token with softhsm2-util and load the module before anyone else
        // can, so no class's token is created between another class's softhsm2-util run and C_Initialize.
        await InitLock.WaitAsync();
        try
        {
            if (HsmModule.IsLoaded(ModulePath))
            {
                Module.InitToken(TokenLabel, SoPin);
                Module.InitPin(TokenLabel, SoPin, UserPin);
                return;
            }
            (await ProcessRunner.RunAsync("softhsm2-util",
                ["--init-token", "--free", "--label", TokenLabel, "--so-pin", SoPinText, "--pin", UserPinText], Environment))
                .EnsureSuccess("softhsm2-util --init-token");
            _ = Module;
        }
        finally
        {
            InitLock.Release();
        }
    }

    /// <summary>A logged-in read-write session on this class's token.</summary>
    public HsmSession OpenSession()
    {
        var pin = UserPin;
        try
        {
            return Module.OpenSession(TokenLabel, pin);
        }
        finally
        {
            Array.Clear(pin);
        }
    }

    /// <summary>Runs pkcs11-tool on this token, directly or (with <paramref name="spyLog"/>) through pkcs11-spy.</summary>
    public Task<ProcessResult> Pkcs11ToolAsync(string? spyLog, params string[] arguments)
    {
        var env = new Dictionary<string, string>(Environment);
        var module = ModulePath;
        if (spyLog is not null)
        {
            env["PKCS11SPY"] = ModulePath;
            env["PKCS11SPY_OUTPUT"] = spyLog;
            module = HsmModule.SpyModulePath;
        }
        return ProcessRunner.RunAsync("pkcs11-tool", ["--module", module, "--token-label", TokenLabel, .. arguments], env);
    }

    /// <summary>Tokens are removed with the shared directory when the process ends; deleting one under a running
    /// SoftHSM instance would confuse it.</summary>
    public Task DisposeAsync() => Task.CompletedTask;

    private static (string, string) CreateShared()
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("trustlaunch-softhsm-").FullName;
        var tokens = System.IO.Directory.CreateDirectory(Path.Combine(dir, "tokens")).FullName;
        var conf = Path.Combine(dir, "softhsm2.conf");
        File.WriteAllText(conf, $"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");
        NativeEnvironment.Set("SOFTHSM2_CONF", conf);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                System.IO.Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return (dir, conf);
    }
}
