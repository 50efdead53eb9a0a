package stdlib

import "strings"

// Domain returns the lower-cased part of email after its last '@', with
// surrounding spaces removed, or "" if email has no '@'.
func Domain(email string) string {
	email = strings.TrimSpace(email)
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(email[i+1:])
}

// IsFreeEmail reports whether email's domain belongs to a consumer mailbox
// provider, where the address says nothing about the sender's company.
func IsFreeEmail(email string) bool {
	return freeEmailDomains[Domain(email)]
}

// freeEmailDomains lists consumer mailbox providers and consumer ISPs'
// mailboxes. Matching is on the whole domain.
var freeEmailDomains = setOf(
	// Google
	"gmail.com", "googlemail.com",
	// Yahoo
	"yahoo.com", "yahoo.co.uk", "yahoo.co.in", "yahoo.co.jp", "yahoo.ca", "yahoo.com.au",
	"yahoo.com.br", "yahoo.com.mx", "yahoo.com.ar", "yahoo.com.sg", "yahoo.com.hk",
	"yahoo.com.tw", "yahoo.com.ph", "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it",
	"yahoo.ie", "yahoo.gr", "yahoo.se", "yahoo.dk", "yahoo.no", "yahoo.fi", "yahoo.pl",
	"ymail.com", "rocketmail.com",
	// Microsoft
	"hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.es", "hotmail.it",
	"hotmail.nl", "hotmail.be", "hotmail.ca", "hotmail.com.au", "hotmail.com.br",
	"hotmail.com.ar", "hotmail.com.mx", "hotmail.se", "hotmail.no", "hotmail.dk", "hotmail.fi",
	"outlook.com", "outlook.co.uk", "outlook.fr", "outlook.de", "outlook.es", "outlook.it",
	"outlook.jp", "outlook.com.au", "outlook.com.br",
	"live.com", "live.co.uk", "live.fr", "live.de", "live.nl", "live.it", "live.ca",
	"live.com.au", "live.com.mx", "msn.com", "passport.com", "windowslive.com",
	// AOL / Verizon
	"aol.com", "aol.co.uk", "aol.de", "aol.fr", "aim.com", "verizon.net",
	// Apple
	"icloud.com", "me.com", "mac.com",
	// Privacy-focused
	"proton.me", "protonmail.com", "protonmail.ch", "pm.me", "tutanota.com", "tutanota.de",
	"tuta.io", "tutamail.com", "mailfence.com", "posteo.de", "posteo.net", "startmail.com",
	// Independent and regional
	"gmx.de", "gmx.net", "gmx.com", "gmx.at", "gmx.ch", "gmx.fr", "gmx.co.uk", "web.de",
	"t-online.de", "freenet.de", "mail.de", "arcor.de",
	"mail.com", "email.com", "usa.com", "inbox.com", "zoho.com", "zohomail.com",
	"fastmail.com", "fastmail.fm", "hey.com", "hushmail.com", "lycos.com", "rediffmail.com",
	"yandex.ru", "yandex.com", "ya.ru", "mail.ru", "inbox.ru", "list.ru", "bk.ru", "rambler.ru",
	"qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "sina.com", "sina.cn", "sohu.com",
	"aliyun.com", "naver.com", "hanmail.net", "daum.net", "nate.com",
	"orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "neuf.fr",
	"libero.it", "virgilio.it", "tiscali.it", "alice.it",
	"btinternet.com", "sky.com", "virginmedia.com", "talktalk.net", "ntlworld.com",
	"comcast.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net",
	"earthlink.net", "optonline.net", "juno.com",
	"shaw.ca", "rogers.com", "sympatico.ca", "videotron.ca",
	"bigpond.com", "bigpond.net.au", "optusnet.com.au",
	"uol.com.br", "bol.com.br", "terra.com.br", "ig.com.br",
	"seznam.cz", "centrum.cz", "wp.pl", "o2.pl", "onet.pl", "interia.pl",
	"bluewin.ch", "telenet.be", "skynet.be", "ziggo.nl", "kpnmail.nl", "xs4all.nl",
)

func setOf(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}
