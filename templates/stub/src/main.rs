//! The launcher of a compressed pyoxidizer-py executable (Linux only).
//!
//! A compressed executable is this launcher with the real executable appended,
//! compressed as consecutive Zstandard frames (RFC 8878, section 3.1), each with
//! its content size and checksum, followed by a 32-byte trailer: the payload's
//! offset in the file, its length and its decoded size (u64 little-endian each),
//! then the magic `PYOXZEX1` (pyoxidizer-py's `docs/building.md`, "Compressed
//! executables").
//!
//! The launcher decodes the frames on several threads straight into an anonymous
//! memory file (memfd_create(2)), seals it against writes (fcntl(2),
//! `F_ADD_SEALS`) and executes it with fexecve(3): the argument vector and the
//! environment pass through unchanged, plus `PYOXIDIZER_PY_EXECUTABLE` naming this
//! file, which the runtime takes as `sys.executable` and `$ORIGIN` instead of the
//! memory file that `/proc/self/exe` then names. Nothing is written to disk.

use std::convert::Infallible;
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::FileExt;
use std::path::Path;

use zstd_safe::DCtx;

const MAGIC: &[u8; 8] = b"PYOXZEX1";
const TRAILER_SIZE: usize = 32;
const EXECUTABLE_VAR: &str = "PYOXIDIZER_PY_EXECUTABLE";
const MAX_THREADS: usize = 8;
/// `MFD_EXEC` (Linux 6.3, `include/uapi/linux/memfd.h`), which the libc crate may not define.
const MFD_EXEC: libc::c_uint = 0x0010;

fn main() {
    let exe = match std::fs::read_link("/proc/self/exe") {
        Ok(path) => path,
        Err(e) => fail(
            Path::new("/proc/self/exe"),
            &format!("cannot locate the executable: {e}"),
        ),
    };
    match launch(&exe) {
        Ok(never) => match never {},
        Err(message) => fail(&exe, &message),
    }
}

fn fail(exe: &Path, message: &str) -> ! {
    eprintln!("error: {}: {message}", exe.display());
    std::process::exit(1);
}

fn os_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// A read-only or writable mapping, unmapped when dropped.
struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    fn new(fd: libc::c_int, len: usize, writable: bool) -> Result<Self, String> {
        let (prot, flags) = if writable {
            (
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
            )
        } else {
            (libc::PROT_READ, libc::MAP_PRIVATE)
        };
        // SAFETY: a fresh mapping of `len` bytes of `fd`; checked for MAP_FAILED.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd, 0) };
        if ptr == libc::MAP_FAILED {
            return Err(os_error("mmap"));
        }
        Ok(Mapping { ptr, len })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is `len` readable bytes for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: a writable mapping of `len` bytes, borrowed uniquely through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr as *mut u8, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` came from a successful mmap and nothing refers to them now.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

fn launch(exe: &Path) -> Result<Infallible, String> {
    let file = File::open(exe).map_err(|e| format!("cannot open the executable: {e}"))?;
    let file_len = file
        .metadata()
        .map_err(|e| format!("cannot stat the executable: {e}"))?
        .len();
    let not_compressed = || "no compressed executable is appended to this launcher".to_string();
    if file_len < TRAILER_SIZE as u64 {
        return Err(not_compressed());
    }
    let mut trailer = [0u8; TRAILER_SIZE];
    file.read_exact_at(&mut trailer, file_len - TRAILER_SIZE as u64)
        .map_err(|e| format!("cannot read the executable: {e}"))?;
    if &trailer[24..] != MAGIC {
        return Err(not_compressed());
    }
    let field = |i: usize| {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&trailer[i * 8..i * 8 + 8]);
        u64::from_le_bytes(raw)
    };
    let (offset, length, size) = (field(0), field(1), field(2));
    let payload_end = offset.checked_add(length);
    if payload_end.map_or(true, |end| end > file_len - TRAILER_SIZE as u64)
        || size == 0
        || size > isize::MAX as u64
        || file_len > isize::MAX as u64
    {
        return Err("the compressed executable's trailer is corrupt".to_string());
    }
    let image = Mapping::new(file.as_raw_fd(), file_len as usize, false)?;
    let payload = &image.bytes()[offset as usize..(offset + length) as usize];
    let frames = parse_frames(payload, size as usize)?;

    let name = CString::new(exe.file_name().map_or(&b"exe"[..], |n| n.as_bytes()))
        .unwrap_or_else(|_| CString::from(c"exe"));
    // MFD_EXEC: kernels since 6.3 may make memory files non-executable without it
    // (vm.memfd_noexec = 1); older kernels reject the flag with EINVAL.
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: a valid C string and flags; the result is checked.
    let mut raw = unsafe { libc::memfd_create(name.as_ptr(), flags | MFD_EXEC) };
    if raw < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        // SAFETY: as above.
        raw = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    }
    if raw < 0 {
        return Err(os_error("memfd_create"));
    }
    // SAFETY: `raw` is a new descriptor owned by nothing else.
    let memfd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: plain system calls on a descriptor this function owns.
    if unsafe { libc::ftruncate(memfd.as_raw_fd(), size as libc::off_t) } != 0 {
        return Err(os_error("cannot size the memory file"));
    }
    {
        let mut target = Mapping::new(memfd.as_raw_fd(), size as usize, true)?;
        decode(&frames, target.bytes_mut())?;
    }
    drop(image);
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    // SAFETY: as above; no writable mapping of the file is left.
    if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(os_error("cannot seal the memory file"));
    }

    let argv = std::env::args_os()
        .map(|arg| CString::new(arg.into_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "an argument holds a NUL byte".to_string())?;
    let mut envp = Vec::new();
    for (key, value) in std::env::vars_os() {
        if key.as_bytes() == EXECUTABLE_VAR.as_bytes() {
            continue;
        }
        let mut entry = key.into_vec();
        entry.push(b'=');
        entry.extend(value.into_vec());
        envp.push(CString::new(entry).map_err(|_| "the environment holds a NUL byte".to_string())?);
    }
    let mut entry = format!("{EXECUTABLE_VAR}=").into_bytes();
    entry.extend_from_slice(exe.as_os_str().as_bytes());
    envp.push(
        CString::new(entry).map_err(|_| "the executable's path holds a NUL byte".to_string())?,
    );
    let pointers = |strings: &[CString]| {
        let mut out: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        out.push(std::ptr::null());
        out
    };
    let (argv_ptrs, envp_ptrs) = (pointers(&argv), pointers(&envp));
    // SAFETY: NUL-terminated arrays of C strings that outlive the call.
    unsafe { libc::fexecve(memfd.as_raw_fd(), argv_ptrs.as_ptr(), envp_ptrs.as_ptr()) };
    let error = std::io::Error::last_os_error();
    let hint = if error.raw_os_error() == Some(libc::EACCES) {
        " (this system does not run programs from memory files: vm.memfd_noexec = 2, a seccomp \
         filter or a security module; use an executable built with executable_compression = \"none\")"
    } else {
        ""
    };
    Err(format!(
        "cannot execute the decompressed executable: {error}{hint}"
    ))
}

/// `(frame, content size)` of each frame of `payload`; their sizes must add up to `size`.
fn parse_frames(payload: &[u8], size: usize) -> Result<Vec<(&[u8], usize)>, String> {
    let corrupt = |what: &str| format!("the compressed executable is corrupt ({what})");
    let mut frames = Vec::new();
    let mut total = 0usize;
    let mut rest = payload;
    while !rest.is_empty() {
        let length = zstd_safe::find_frame_compressed_size(rest)
            .map_err(|code| corrupt(zstd_safe::get_error_name(code)))?;
        if length == 0 || length > rest.len() {
            return Err(corrupt("bad frame length"));
        }
        let (frame, tail) = rest.split_at(length);
        let frame_size = match zstd_safe::get_frame_content_size(frame) {
            Ok(Some(n)) if n > 0 && n <= size as u64 => n as usize,
            _ => return Err(corrupt("a frame without a content size")),
        };
        total = total
            .checked_add(frame_size)
            .ok_or_else(|| corrupt("sizes"))?;
        frames.push((frame, frame_size));
        rest = tail;
    }
    if total != size {
        return Err(corrupt("sizes"));
    }
    Ok(frames)
}

/// Decode `frames` into consecutive slices of `target`, on up to `MAX_THREADS` threads.
fn decode(frames: &[(&[u8], usize)], target: &mut [u8]) -> Result<(), String> {
    let mut jobs = Vec::with_capacity(frames.len());
    let mut rest = target;
    for &(frame, size) in frames {
        let (slice, tail) = rest.split_at_mut(size);
        jobs.push((frame, slice));
        rest = tail;
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_THREADS)
        .min(jobs.len());
    let queue = std::sync::Mutex::new(jobs);
    let work = || -> Result<(), String> {
        let mut context = DCtx::create();
        loop {
            let job = queue.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some((frame, slice)) = job else {
                return Ok(());
            };
            let expected = slice.len();
            match context.decompress(slice, frame) {
                Ok(written) if written == expected => {}
                Ok(_) => return Err("the compressed executable is corrupt (sizes)".to_string()),
                Err(code) => {
                    return Err(format!(
                        "the compressed executable is corrupt ({})",
                        zstd_safe::get_error_name(code)
                    ))
                }
            }
        }
    };
    std::thread::scope(|scope| {
        // A thread that cannot be started leaves its share to the others.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut result = work();
        for helper in helpers {
            let joined = helper
                .join()
                .unwrap_or_else(|_| Err("a decoder thread panicked".to_string()));
            result = result.and(joined);
        }
        result
    })
}
