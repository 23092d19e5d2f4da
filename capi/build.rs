// Link-time settings for the shared library only (the staticlib is unaffected):
// on Linux the cdylib gets the soname libflyteauth.so.<major>, so programs record that name
// and a release can replace libflyteauth.so.<major>.<minor>.<patch> underneath them; on macOS
// the dylib's install name is @rpath-relative, so an application finds it next to itself or
// through its own rpath rather than at the path it was built in.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    match os.as_str() {
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libflyteauth.so.{major}");
        }
        "macos" | "ios" => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libflyteauth.dylib");
        }
        _ => {}
    }
}
