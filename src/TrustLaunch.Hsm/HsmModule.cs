using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace TrustLaunch.Hsm;

/// <summary>
/// A loaded PKCS#11 module. A module is initialised once per process (a second C_Initialize fails), so instances are
/// shared per path and live until the process ends; sessions are what callers open and close.
/// </summary>
public sealed class HsmModule
{
    public const string DefaultModulePath = "/usr/lib/softhsm/libsofthsm2.so";
    public const string SpyModulePath = "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so";
    public const string ModuleEnvironmentVariable = "TRUSTLAUNCH_HSM_MODULE";

    private static readonly ConcurrentDictionary<string, Lazy<HsmModule>> Loaded = new(StringComparer.Ordinal);
    private static int _resolverInstalled;

    // SoftHSM's slot enumeration is not safe to run at once: a C_GetTokenInfo racing another thread's C_GetSlotList
    // has answered CKR_GENERAL_ERROR (16 concurrent signers, full suite). It is rare, so one caller at a time.
    private readonly Lock _slotDiscovery = new();

    private HsmModule(string path, string? spyLog, IPkcs11Library library)
    {
        ModulePath = path;
        SpyLog = spyLog;
        Library = library;
        Factories = new Pkcs11InteropFactories();
    }

    /// <summary>The module that does the work (with a spy, the module the spy forwards to).</summary>
    public string ModulePath { get; }

    /// <summary>The pkcs11-spy log file when calls go through the spy.</summary>
    public string? SpyLog { get; }

    internal IPkcs11Library Library { get; }
    internal Pkcs11InteropFactories Factories { get; }

    /// <summary>The module path from <c>--module</c>, else <c>TRUSTLAUNCH_HSM_MODULE</c>, else SoftHSM2's.</summary>
    public static string ResolveModulePath(string? path) =>
        !string.IsNullOrEmpty(path) ? path
        : Environment.GetEnvironmentVariable(ModuleEnvironmentVariable) is { Length: > 0 } env ? env
        : DefaultModulePath;

    /// <summary>Loads (once per process) the module at <paramref name="path"/>; with <paramref name="spyLog"/> (and only
    /// then: no environment variable turns it on) the calls go through OpenSC's pkcs11-spy, which appends every call,
    /// PINs included, to that file, created 0600 before the module starts.</summary>
    public static HsmModule Load(string? path = null, string? spyLog = null)
    {
        var modulePath = ResolveModulePath(path);
        if (string.IsNullOrEmpty(spyLog))
            spyLog = null;
        var key = spyLog is null ? modulePath : $"{modulePath}\n{spyLog}";
        var lazy = Loaded.GetOrAdd(key, _ => new Lazy<HsmModule>(() => LoadNow(modulePath, spyLog), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            Loaded.TryRemove(new KeyValuePair<string, Lazy<HsmModule>>(key, lazy));
            throw;
        }
    }

    private static HsmModule LoadNow(string modulePath, string? spyLog)
    {
        InstallLibdlResolver();
        Pkcs11InteropAot.Touch();
        if (!File.Exists(modulePath))
            throw new HsmException("module", "not found",
                $"no PKCS#11 module at {modulePath}; install SoftHSM2 with `apt-get install softhsm2` or pass --module PATH (or set {ModuleEnvironmentVariable})");
        var load = modulePath;
        if (spyLog is not null)
        {
            if (!File.Exists(SpyModulePath))
                throw new HsmException("module", "not found", $"no pkcs11-spy at {SpyModulePath}; install it with `apt-get install opensc-pkcs11`");
            var log = Path.GetFullPath(spyLog);
            CreatePrivateLog(log);
            NativeEnvironment.Set("PKCS11SPY", modulePath);
            NativeEnvironment.Set("PKCS11SPY_OUTPUT", log);
            load = SpyModulePath;
        }
        var factories = new Pkcs11InteropFactories();
        try
        {
            var library = factories.Pkcs11LibraryFactory.LoadPkcs11Library(factories, load, AppType.MultiThreaded);
            return new HsmModule(modulePath, spyLog, library);
        }
        catch (Pkcs11Exception e)
        {
            throw Pkcs11Call.Translate(e);
        }
        catch (UnmanagedException e)
        {
            throw new HsmException("module", "load failed", $"could not load {load}: {e.Message}", e);
        }
    }

    /// <summary>The spy logs PINs: its file is made (or tightened to) owner read/write before the spy opens it for
    /// appending, whatever the umask.</summary>
    private static void CreatePrivateLog(string path)
    {
        const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        if (OperatingSystem.IsWindows())
            throw new HsmException("module", "spy unsupported", "pkcs11-spy logs are supported on Linux only");
        try
        {
            using (new FileStream(path, new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, UnixCreateMode = OwnerOnly }))
            {
            }
            File.SetUnixFileMode(path, OwnerOnly);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HsmException("module", "spy log refused", $"cannot create the pkcs11-spy log {path} with mode 0600: {e.Message}", e);
        }
    }

    /// <summary>True once this process has initialised the module at <paramref name="path"/> without a spy. SoftHSM
    /// reads its token directory at C_Initialize only: tokens another process creates later stay invisible here.</summary>
    public static bool IsLoaded(string path) => Loaded.TryGetValue(path, out var lazy) && lazy.IsValueCreated;

    /// <summary>Pkcs11Interop 5.x P/Invokes <c>dlopen</c> from "libdl"; current glibc ships only <c>libdl.so.2</c>.</summary>
    private static void InstallLibdlResolver()
    {
        if (Interlocked.Exchange(ref _resolverInstalled, 1) == 1)
            return;
        NativeLibrary.SetDllImportResolver(typeof(Pkcs11InteropFactories).Assembly, Resolve);

        static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
            name == "libdl" && NativeLibrary.TryLoad("libdl.so.2", out var handle) ? handle : IntPtr.Zero;
    }

    public ModuleInfo GetInfo()
    {
        var info = Pkcs11Call.Run(Library.GetInfo);
        return new ModuleInfo(ModulePath, info.ManufacturerId.Trim(), info.LibraryDescription.Trim(), info.LibraryVersion, info.CryptokiVersion);
    }

    public IReadOnlyList<SlotDescription> GetSlots(bool tokenPresent = true)
    {
        lock (_slotDiscovery)
        {
            return Pkcs11Call.Run(() => Library.GetSlotList(tokenPresent ? SlotsType.WithTokenPresent : SlotsType.WithOrWithoutTokenPresent)
                .Select(Describe).ToList());
        }
    }

    private static SlotDescription Describe(ISlot slot)
    {
        var si = slot.GetSlotInfo();
        TokenDescription? token = null;
        if (si.SlotFlags.TokenPresent)
        {
            var ti = slot.GetTokenInfo();
            token = new TokenDescription(ti.Label.Trim(), ti.ManufacturerId.Trim(), ti.Model.Trim(), ti.SerialNumber.Trim(),
                ti.TokenFlags.TokenInitialized, ti.TokenFlags.UserPinInitialized, ti.TokenFlags.LoginRequired,
                ti.TokenFlags.UserPinLocked, ti.TokenFlags.UserPinCountLow);
        }
        return new SlotDescription(slot.SlotId, si.SlotDescription.Trim(), token);
    }

    /// <summary>The slot whose token has <paramref name="label"/> (SoftHSM gives tokens random slot ids).</summary>
    internal ISlot FindSlot(string label)
    {
        lock (_slotDiscovery)
            return FindSlotLocked(label);
    }

    private ISlot FindSlotLocked(string label)
    {
        var slots = Pkcs11Call.Run(() => Library.GetSlotList(SlotsType.WithTokenPresent));
        var matches = slots.Where(s => Pkcs11Call.Run(s.GetTokenInfo).Label.Trim() == label).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new HsmException("C_GetTokenInfo", "token not found",
                $"no token labelled '{label}' in {ModulePath}; tokens: {string.Join(", ", slots.Select(s => $"'{s.GetTokenInfo().Label.Trim()}'"))}"),
            _ => throw new HsmException("C_GetTokenInfo", "token ambiguous", $"{matches.Count} tokens are labelled '{label}' in {ModulePath}"),
        };
    }

    /// <summary>The first slot without an initialised token (SoftHSM always offers one).</summary>
    internal ISlot FindFreeSlot()
    {
        lock (_slotDiscovery)
        {
            var slots = Pkcs11Call.Run(() => Library.GetSlotList(SlotsType.WithTokenPresent));
            return slots.FirstOrDefault(s => !s.GetTokenInfo().TokenFlags.TokenInitialized)
                ?? throw new HsmException("C_GetSlotList", "no free slot", $"{ModulePath} offers no slot with an uninitialised token");
        }
    }

    /// <summary>Opens a read-write session on the token labelled <paramref name="tokenLabel"/>, logged in when a PIN
    /// is given (the PIN bytes are the caller's to wipe).</summary>
    public HsmSession OpenSession(string tokenLabel, ReadOnlySpan<byte> pin)
    {
        var slot = FindSlot(tokenLabel);
        var session = Pkcs11Call.Run(() => slot.OpenSession(SessionType.ReadWrite));
        try
        {
            if (!pin.IsEmpty)
            {
                var copy = pin.ToArray();
                try
                {
                    Pkcs11Call.Run(() => session.Login(CKU.CKU_USER, copy));
                }
                catch (HsmException e) when (e.Code == "CKR_USER_ALREADY_LOGGED_IN")
                {
                    // Login state is per application, not per session: another session of this process logged in.
                }
                finally
                {
                    Array.Clear(copy);
                }
            }
            return new HsmSession(this, tokenLabel, session);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Initialises the first free token with a label and SO PIN; returns its slot id.</summary>
    public ulong InitToken(string label, ReadOnlySpan<byte> soPin)
    {
        var slot = FindFreeSlot();
        var so = soPin.ToArray();
        try
        {
            var labelBytes = System.Text.Encoding.UTF8.GetBytes(label.PadRight(32));
            Pkcs11Call.Run(() => slot.InitToken(so, labelBytes));
            return slot.SlotId;
        }
        finally
        {
            Array.Clear(so);
        }
    }

    /// <summary>As the security officer, sets the user PIN of the token labelled <paramref name="label"/>.</summary>
    public void InitPin(string label, ReadOnlySpan<byte> soPin, ReadOnlySpan<byte> userPin)
    {
        var slot = FindSlot(label);
        var so = soPin.ToArray();
        var user = userPin.ToArray();
        try
        {
            using var session = Pkcs11Call.Run(() => slot.OpenSession(SessionType.ReadWrite));
            Pkcs11Call.Run(() => session.Login(CKU.CKU_SO, so));
            try
            {
                Pkcs11Call.Run(() => session.InitPin(user));
            }
            finally
            {
                Pkcs11Call.Run(session.Logout);
            }
        }
        finally
        {
            Array.Clear(so);
            Array.Clear(user);
        }
    }

    public IReadOnlyList<MechanismDescription> GetMechanisms(string tokenLabel)
    {
        var slot = FindSlot(tokenLabel);
        return Pkcs11Call.Run(() => slot.GetMechanismList().Select(m =>
        {
            var info = slot.GetMechanismInfo(m);
            var f = info.MechanismFlags;
            var flags = new List<string>();
            if (f.Encrypt) flags.Add("encrypt");
            if (f.Decrypt) flags.Add("decrypt");
            if (f.Digest) flags.Add("digest");
            if (f.Sign) flags.Add("sign");
            if (f.Verify) flags.Add("verify");
            if (f.Generate) flags.Add("generate");
            if (f.GenerateKeyPair) flags.Add("generate_key_pair");
            if (f.Wrap) flags.Add("wrap");
            if (f.Unwrap) flags.Add("unwrap");
            if (f.Derive) flags.Add("derive");
            return new MechanismDescription(m.ToString(), info.MinKeySize, info.MaxKeySize, flags);
        }).ToList());
    }
}

public sealed record ModuleInfo(string Path, string Manufacturer, string Description, string LibraryVersion, string CryptokiVersion);

public sealed record TokenDescription(
    string Label, string Manufacturer, string Model, string Serial,
    bool Initialized, bool UserPinInitialized, bool LoginRequired, bool UserPinLocked, bool UserPinCountLow);

public sealed record SlotDescription(ulong SlotId, string Description, TokenDescription? Token);

public sealed record MechanismDescription(string Name, ulong MinKeySize, ulong MaxKeySize, IReadOnlyList<string> Flags);
