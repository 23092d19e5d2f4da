// The README's C++ quickstart: print the header names flyteauth gives a call (never a value:
// it is a credential). Config JSON from argv[1].
#include <flyteauth.hpp>

#include <iostream>

int main(int argc, char **argv) {
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " '<config json>'\n";
        return 2;
    }
    try {
        auto auth = flyteauth::Authenticator::from_json(argv[1]);
        flyteauth::Metadata md = auth.fetch_metadata();
        for (const auto &header : md)
            std::cout << header.key << ": <" << header.value.size() << " bytes>\n";
        std::cout << "flyteauth " << flyteauth::version() << "\n";
    } catch (const flyteauth::Error &e) {
        std::cerr << "flyteauth: " << e.what() << " (HTTP " << e.http_status() << ")\n";
        return 1;
    }
    return 0;
}
