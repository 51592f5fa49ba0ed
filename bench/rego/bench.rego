package bench

import rego.v1

server_names contains s.name if {
	some s in input.servers
}

legacy_prefixes := ["Windows 95", "Windows 98", "Windows Me", "Windows NT", "Windows 2000"]

legacy_os(os) if {
	some p in legacy_prefixes
	os == p
}

legacy_os(os) if {
	some p in legacy_prefixes
	startswith(os, concat("", [p, " "]))
}

violations contains sprintf("server-2003\t%s", [s.name]) if {
	some s in input.servers
	contains(s.os, "2003")
}

violations contains sprintf("server-apache\t%s", [s.name]) if {
	some s in input.servers
	s.web_server == "Apache"
}

violations contains sprintf("server-ip-identity\t%s", [s.name]) if {
	some s in input.servers
	s.identified_by in {"ipv4", "ipv6"}
}

violations contains sprintf("client-legacy\t%s", [c.name]) if {
	some c in input.clients
	legacy_os(c.os)
}

violations contains sprintf("client-legacy\t%s", [c.name]) if {
	some c in input.clients
	c.arch == "ia64"
}

violations contains sprintf("client-dangling\t%s", [c.name]) if {
	some c in input.clients
	not server_names[c.server]
}
