module github.com/vitals-go/vitals

go 1.26
